import { Worker } from 'node:worker_threads';

/** The model module's worker threads: the ONNX session's, and the tokenizer's. */
export type ModelWorkerName = 'model-worker' | 'tokenizer-worker';

/** Starts one of them; the seam through which tests run the workers from sources, or faulty ones. */
export type StartModelWorker = (name: ModelWorkerName, workerData: object) => Worker;

export const START_MODEL_WORKER = Symbol('START_MODEL_WORKER');

/** The compiled worker next to this file (dist/model/*.js), as the service runs it. */
export const startCompiledWorker: StartModelWorker = (name, workerData) =>
  new Worker(new URL(`./${name}.js`, import.meta.url), { workerData });
