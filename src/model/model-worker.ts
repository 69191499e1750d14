/**
 * Worker-thread entry: loads and owns the model's session (model-runtime.ts) so ONNX Runtime's
 * synchronous `run` never blocks the HTTP event loop. Speaks the messages in model-worker-protocol.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadModelRuntime } from './model-runtime.js';
import type { ModelWorkerData, ToMain, ToWorker } from './model-worker-protocol.js';
import { unpackSequences } from './token-sequences.js';

const port = parentPort!;
const send = (message: ToMain) => port.postMessage(message);
const options = workerData as ModelWorkerData;

const runtime = loadModelRuntime(options, (level, fields) => send({ type: 'log', level, fields }));
runtime.then(
  ({ session, calibration }) => send({ type: 'ready', info: session.info, calibration }),
  (error: Error) => send({ type: 'failed', message: error.message }),
);

port.on('message', (message: ToWorker) => {
  runtime
    .then(({ session }) => session.classifySequences(unpackSequences(message)))
    .then(
      (logits) =>
        port.postMessage({ type: 'result', id: message.id, logits } satisfies ToMain, [logits.buffer as ArrayBuffer]),
      (error: Error) => send({ type: 'error', id: message.id, message: error.message }),
    );
});
