/**
 * Worker-thread entry: owns the ModelRuntime so tokenization and ONNX Runtime's synchronous
 * `run` never block the HTTP event loop. Speaks the messages in model-worker-protocol.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ModelRuntime } from './model-runtime.js';
import type { ModelWorkerData, ToMain, ToWorker } from './model-worker-protocol.js';

const port = parentPort!;
const send = (message: ToMain) => port.postMessage(message);
const { faultInjection, ...options } = workerData as ModelWorkerData;

const runtime = ModelRuntime.load(options, (level, fields) => send({ type: 'log', level, fields }));
runtime.then(
  (loaded) => send({ type: 'ready', info: loaded.info }),
  (error: Error) => send({ type: 'failed', message: error.message }),
);

port.on('message', (message: ToWorker) => {
  runtime
    .then((loaded) => {
      if (message.injectFault && faultInjection) throw new Error('injected model fault (test only)');
      return loaded.classify(message.texts);
    })
    .then(
      (predictions) => send({ type: 'result', id: message.id, predictions }),
      (error: Error) => send({ type: 'error', id: message.id, message: error.message }),
    );
});
