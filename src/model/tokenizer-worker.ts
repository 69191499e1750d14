/**
 * Worker-thread entry that only tokenizes: the scheduler needs every text's token count before it
 * can batch or admit it, and the model worker is busy inside ONNX Runtime's synchronous `run`
 * for up to a call's length. Speaks the messages in model-worker-protocol.ts.
 */
import { AutoTokenizer, env as transformersEnv } from '@huggingface/transformers';
import { resolve } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import type { TokenizerWorkerData, FromTokenizer, ToTokenizer } from './model-worker-protocol.js';
import { tokenizeTexts } from './token-sequences.js';

const port = parentPort!;
const send = (message: FromTokenizer, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);
const { modelDir, modelId, maxSequenceLength } = workerData as TokenizerWorkerData;

transformersEnv.localModelPath = resolve(modelDir);
transformersEnv.allowLocalModels = true;
transformersEnv.allowRemoteModels = false;
const tokenizer = AutoTokenizer.from_pretrained(modelId, { local_files_only: true });
tokenizer.then(
  () => send({ type: 'ready' }),
  (error: Error) => send({ type: 'failed', message: error.message }),
);

port.on('message', (message: ToTokenizer) => {
  tokenizer
    .then((loaded) => tokenizeTexts(loaded, message.texts, maxSequenceLength, message.truncation))
    .then(
      ({ ids, lengths, fullLengths }) =>
        send({ type: 'tokens', id: message.id, ids, lengths, fullLengths }, [
          ids.buffer as ArrayBuffer,
          lengths.buffer as ArrayBuffer,
          fullLengths.buffer as ArrayBuffer,
        ]),
      (error: Error) => send({ type: 'error', id: message.id, message: error.message }),
    );
});
