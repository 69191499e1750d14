import type { Prediction } from './label-scores.js';
import type { ModelInfo, ModelRuntimeOptions } from './model-runtime.js';

/** What the worker is started with. */
export type ModelWorkerData = ModelRuntimeOptions & {
  /** Honour `injectFault` (tests only; see ModelFaultInjector). */
  faultInjection: boolean;
};

/** Messages from the service to the model worker. */
export interface ToWorker {
  type: 'classify';
  id: number;
  texts: string[];
  /** Fail this call as a runtime error would (honoured only with `faultInjection`). */
  injectFault?: true;
}

/** Messages from the model worker to the service. */
export type ToMain =
  | { type: 'log'; level: 'info' | 'warn'; fields: Record<string, unknown> }
  | { type: 'ready'; info: ModelInfo }
  | { type: 'failed'; message: string }
  | { type: 'result'; id: number; predictions: Prediction[] }
  | { type: 'error'; id: number; message: string };
