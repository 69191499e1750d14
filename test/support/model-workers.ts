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
  private armed?: { fault: 'fail' | 'hang'; taken(texts: number): void };

  /** The next model call fails; resolves with the number of texts it carried. */
  failNextCall(): Promise<number> {
    return new Promise((taken) => (this.armed = { fault: 'fail', taken }));
  }

  /** The next model call never gets an answer, as from a wedged ONNX Runtime; resolves when it is made. */
  hangNextCall(): Promise<number> {
    return new Promise((taken) => (this.armed = { fault: 'hang', taken }));
  }

  override postMessage(message: ToWorker, transfer?: readonly ArrayBuffer[]): void {
    const armed = this.armed;
    if (armed === undefined || message.type !== 'classify') {
      super.postMessage(message, transfer as ArrayBuffer[]);
      return;
    }
    this.armed = undefined;
    armed.taken(message.lengths.length);
    if (armed.fault === 'hang') return;
    setImmediate(() => this.emit('message', { type: 'error', id: message.id, message: 'injected model fault' }));
  }
}

/** Starts the model worker as a FaultyModelWorker (from sources); keeps the last one started. */
export class FaultyModelWorkers {
  last?: FaultyModelWorker;
  started = 0;
  /** From now on, model workers are started where no model can be found: every reload fails. */
  breakReloads = false;

  readonly start: StartModelWorker = (name, data) => {
    if (name !== 'model-worker') return startSourceWorker(name, data);
    this.started++;
    const workerData = this.breakReloads
      ? { ...data, modelId: 'nobody/missing-model', modelFallback: 'none', allowRemoteModels: false }
      : data;
    const source = JSON.stringify(new URL(`../../src/model/${name}.ts`, import.meta.url).href);
    const bootstrap = `import('tsx/esm/api').then(({ register }) => { register(); return import(${source}); })`;
    this.last = new FaultyModelWorker(bootstrap, { eval: true, workerData });
    return this.last;
  };
}
