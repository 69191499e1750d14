// Downloads a model's files from the Hugging Face hub into the layout the service reads
// (MODEL_DIR/<model id>/...), so an image can bake the model in at build time:
//   tsx scripts/download-hub-model.ts --model-id owner/name [--dtype fp32|q8] [--models-dir ./models]
//                                     [--revision main] [--endpoint https://huggingface.co]
// and prints the folder it wrote.
import { createWriteStream } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream } from 'node:stream/web';
import { parseArgs } from 'node:util';
import type { ModelDtype } from '../src/config/settings.js';
import { hasLocalModel, modelFolder, onnxFileName } from '../src/model/model-files.js';

const USAGE =
  'Usage: tsx scripts/download-hub-model.ts --model-id owner/name [--dtype fp32|q8] [--models-dir ./models]' +
  ' [--revision main] [--endpoint https://huggingface.co]';

const DTYPES: readonly ModelDtype[] = ['fp32', 'q8'];

async function download(url: string, target: string): Promise<void> {
  const response = await fetch(url);
  if (!response.ok || !response.body) throw new Error(`GET ${url} answered ${response.status}`);
  await mkdir(dirname(target), { recursive: true });
  // Written beside the target and renamed, so an interrupted download never looks complete.
  const partial = `${target}.partial`;
  await pipeline(Readable.fromWeb(response.body as ReadableStream<Uint8Array>), createWriteStream(partial));
  await rename(partial, target);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'model-id': { type: 'string' },
      dtype: { type: 'string', default: 'fp32' },
      'models-dir': { type: 'string', default: './models' },
      revision: { type: 'string', default: 'main' },
      endpoint: { type: 'string', default: 'https://huggingface.co' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const modelId = values['model-id'];
  const dtype = values.dtype as ModelDtype;
  if (!modelId || !DTYPES.includes(dtype)) throw new Error(`--model-id is required, --dtype is fp32 or q8\n${USAGE}`);

  const folder = modelFolder(values['models-dir'], modelId);
  const files = ['config.json', 'tokenizer.json', 'tokenizer_config.json', onnxFileName(dtype)];
  for (const file of files) {
    await download(
      `${values.endpoint}/${modelId}/resolve/${encodeURIComponent(values.revision)}/${file}`,
      join(folder, file),
    );
  }
  if (!hasLocalModel(values['models-dir'], modelId, dtype)) throw new Error(`${folder} is incomplete after download`);
  console.log(folder);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
