/**
 * Worker-thread entry that only tokenizes: the scheduler needs every text's token count before it
 * can batch or admit it, and the model worker is busy inside ONNX Runtime's synchronous `run`
 * for up to a call's length. Speaks the messages in model-worker-protocol.ts.
 */
import { AutoTokenizer } from '@huggingface/transformers';
import { resolve } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import type { TokenizerWorkerData, FromTokenizer, ToTokenizer } from './model-worker-protocol.js';
import { allowDownloads, useModelDir } from './transformers-env.js';
import { tokenizeTexts, type Tokenized } from './token-sequences.js';
import { windowTexts } from './token-windows.js';

const port = parentPort!;
const send = (message: FromTokenizer, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);
const { modelDir, modelId, maxSequenceLength } = workerData as TokenizerWorkerData;

// The model worker resolved (and, if need be, downloaded) the files: only local ones are read here.
useModelDir(resolve(modelDir));
allowDownloads(false);
const tokenizer = AutoTokenizer.from_pretrained(modelId, { local_files_only: true });
tokenizer.then(
  () => send({ type: 'ready' }),
  (error: Error) => send({ type: 'failed', message: error.message }),
);

port.on('message', (message: ToTokenizer) => {
  tokenizer
    .then((loaded): Tokenized & { windowCounts?: Int32Array } =>
      message.windowStridePercent === undefined
        ? tokenizeTexts(loaded, message.texts, maxSequenceLength, message.truncation)
        : windowTexts(loaded, message.texts, maxSequenceLength, message.windowStridePercent),
    )
    .then(
      ({ ids, lengths, fullLengths, windowCounts }) =>
        send({ type: 'tokens', id: message.id, ids, lengths, fullLengths, windowCounts }, [
          ids.buffer as ArrayBuffer,
          lengths.buffer as ArrayBuffer,
          fullLengths.buffer as ArrayBuffer,
          ...(windowCounts ? [windowCounts.buffer as ArrayBuffer] : []),
        ]),
      (error: Error) => send({ type: 'error', id: message.id, message: error.message }),
    );
});
