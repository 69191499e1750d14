// Downloads a model's files from the Hugging Face hub (or a mirror) into the layout the service
// reads (MODEL_DIR/<model id>/...), so an image can bake the model in at build time:
//   tsx scripts/download-hub-model.ts --model-id owner/name [--dtype fp32|q8] [--models-dir ./models]
//                                     [--revision main] [--endpoint https://huggingface.co] [--sha256 <hex>]
// and prints the folder it wrote. Like the service it reads HF_ENDPOINT, MODEL_REVISION and
// MODEL_SHA256 (the flags win) and HF_TOKEN, which has no flag: a command line is seen by anyone on
// the machine and kept in the build log.
import { downloadFile, HubApiError } from '@huggingface/hub';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream } from 'node:stream/web';
import { parseArgs } from 'node:util';
import type { ModelDtype } from '../src/config/settings.js';
import {
  ChecksumMismatchError,
  hasLocalModel,
  modelFolder,
  onnxFileName,
  sha256File,
} from '../src/model/model-files.js';

const USAGE =
  'Usage: tsx scripts/download-hub-model.ts --model-id owner/name [--dtype fp32|q8] [--models-dir ./models]' +
  ' [--revision main] [--endpoint https://huggingface.co] [--sha256 <hex>]   (token: HF_TOKEN)';

const DTYPES: readonly ModelDtype[] = ['fp32', 'q8'];

interface Source {
  modelId: string;
  revision: string;
  hubUrl: string;
  accessToken?: string;
}

/** One file, written beside its target and renamed, so an interrupted download never looks complete. */
async function download(source: Source, file: string, target: string): Promise<void> {
  const { modelId, revision, hubUrl, accessToken } = source;
  const blob = await downloadFile({ repo: modelId, path: file, revision, hubUrl, accessToken }).catch(
    (error: unknown) => {
      if (error instanceof HubApiError && (error.statusCode === 401 || error.statusCode === 403)) {
        throw new Error(
          `${hubUrl} refused ${modelId}@${revision} (HTTP ${error.statusCode}): HF_TOKEN is missing, invalid, ` +
            `or lacks access to this gated or private model. ${error.message}`,
        );
      }
      throw error;
    },
  );
  if (blob === null) throw new Error(`${hubUrl}: ${modelId} has no file ${file} at revision ${revision}`);
  await mkdir(dirname(target), { recursive: true });
  const partial = `${target}.partial`;
  await pipeline(Readable.fromWeb(blob.stream() as ReadableStream<Uint8Array>), createWriteStream(partial));
  await rename(partial, target);
}

async function main(): Promise<void> {
  const env = (name: string) => process.env[name]?.trim() || undefined;
  const { values } = parseArgs({
    options: {
      'model-id': { type: 'string' },
      dtype: { type: 'string', default: 'fp32' },
      'models-dir': { type: 'string', default: './models' },
      revision: { type: 'string', default: env('MODEL_REVISION') ?? 'main' },
      endpoint: { type: 'string', default: env('HF_ENDPOINT') ?? 'https://huggingface.co' },
      sha256: { type: 'string', default: env('MODEL_SHA256') },
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
  // Empty counts as unset: the Dockerfile passes its MODEL_SHA256 argument whether set or not.
  const expectedSha256 = values.sha256?.trim().toLowerCase() || undefined;
  if (expectedSha256 !== undefined && !/^[0-9a-f]{64}$/.test(expectedSha256)) {
    throw new Error('--sha256 (MODEL_SHA256) must be a SHA-256 of 64 hex digits');
  }

  const source: Source = {
    modelId,
    revision: values.revision,
    hubUrl: values.endpoint.replace(/\/+$/, ''),
    accessToken: env('HF_TOKEN'),
  };
  const folder = modelFolder(values['models-dir'], modelId);
  for (const file of ['config.json', 'tokenizer.json', 'tokenizer_config.json', onnxFileName(dtype)]) {
    await download(source, file, join(folder, file));
  }
  if (!hasLocalModel(values['models-dir'], modelId, dtype)) throw new Error(`${folder} is incomplete after download`);

  const onnxFile = join(folder, onnxFileName(dtype));
  const actualSha256 = await sha256File(onnxFile);
  if (expectedSha256 !== undefined && actualSha256 !== expectedSha256) {
    // No image gets a file that the service would refuse to serve anyway.
    await rm(onnxFile);
    throw new ChecksumMismatchError(onnxFile, expectedSha256, actualSha256);
  }
  console.error(`${onnxFile}: sha256 ${actualSha256}`);
  console.log(folder);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
