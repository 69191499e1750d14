import type { Prediction } from './label-scores.js';
import type { ModelInfo } from './model-runtime.js';

/** Messages from the service to the model worker. */
export interface ToWorker {
  type: 'classify';
  id: number;
  texts: string[];
}

/** Messages from the model worker to the service. */
export type ToMain =
  | { type: 'log'; level: 'info' | 'warn'; fields: Record<string, unknown> }
  | { type: 'ready'; info: ModelInfo }
  | { type: 'failed'; message: string }
  | { type: 'result'; id: number; predictions: Prediction[] }
  | { type: 'error'; id: number; message: string };
