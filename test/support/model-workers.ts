import { Worker } from 'node:worker_threads';
import type { ModelWorkerName, StartModelWorker } from '../../src/model/model-workers.js';
import type { ToWorker } from '../../src/model/model-worker-protocol.js';

/**
 * The model module's workers run from their TypeScript sources, as tests import the app: through
 * tsx's loader, which a worker must register for itself.
 */
export const startSourceWorker: StartModelWorker = (name: ModelWorkerName, workerData: object) => {
  const source = JSON.stringify(new URL(`../../src/model/${name}.ts`, import.meta.url).href);
  const bootstrap = `import('tsx/esm/api').then(({ register }) => { register(); return import(${source}); })`;
  return new Worker(bootstrap, { eval: true, workerData });
};

/**
 * A real model worker whose next model call can be made to fail, as an ONNX Runtime error would: the
 * call is answered with the worker protocol's `error` reply instead of reaching the session.
 */
export class FaultyModelWorker extends Worker {
  private armed?: (texts: number) => void;

  /** The next model call fails; resolves with the number of texts it carried. */
  failNextCall(): Promise<number> {
    return new Promise((resolve) => (this.armed = resolve));
  }

  override postMessage(message: ToWorker, transfer?: readonly ArrayBuffer[]): void {
    const armed = this.armed;
    if (armed === undefined || message.type !== 'classify') {
      super.postMessage(message, transfer as ArrayBuffer[]);
      return;
    }
    this.armed = undefined;
    armed(message.lengths.length);
    setImmediate(() => this.emit('message', { type: 'error', id: message.id, message: 'injected model fault' }));
  }
}

/** Starts the model worker as a FaultyModelWorker (from sources); keeps the last one started. */
export class FaultyModelWorkers {
  last?: FaultyModelWorker;

  readonly start: StartModelWorker = (name, workerData) => {
    if (name !== 'model-worker') return startSourceWorker(name, workerData);
    const source = JSON.stringify(new URL(`../../src/model/${name}.ts`, import.meta.url).href);
    const bootstrap = `import('tsx/esm/api').then(({ register }) => { register(); return import(${source}); })`;
    this.last = new FaultyModelWorker(bootstrap, { eval: true, workerData });
    return this.last;
  };
}
