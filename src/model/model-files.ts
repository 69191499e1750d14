import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import type { ModelDtype } from '../config/settings.js';

/** File names transformers.js looks for, per dtype, as on the Hugging Face hub. */
export function onnxFileName(dtype: ModelDtype): string {
  return dtype === 'q8' ? 'onnx/model_quantized.onnx' : 'onnx/model.onnx';
}

export function modelFolder(modelDir: string, modelId: string): string {
  return join(modelDir, ...modelId.split('/'));
}

/** The ONNX file of `modelId` in `dtype` under `modelDir`. */
export function onnxPath(modelDir: string, modelId: string, dtype: ModelDtype): string {
  return join(modelFolder(modelDir, modelId), onnxFileName(dtype));
}

export function hasLocalModel(modelDir: string, modelId: string, dtype: ModelDtype): boolean {
  const folder = modelFolder(modelDir, modelId);
  return ['config.json', 'tokenizer.json', onnxFileName(dtype)].every((file) => existsSync(join(folder, file)));
}

/**
 * The file's SHA-256 in lower-case hex, read through one reused buffer. An ONNX file can be hundreds
 * of MB: a read stream's chunks would be that much garbage in the model worker's small heap, held
 * in its RSS until a GC that idle workers rarely run (docs/PERFORMANCE.md, issue #26).
 */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  const buffer = Buffer.allocUnsafe(1 << 20);
  const file = await open(path);
  try {
    for (let read = 0; (read = (await file.read(buffer, 0, buffer.length)).bytesRead) > 0;) {
      hash.update(buffer.subarray(0, read));
    }
  } finally {
    await file.close();
  }
  return hash.digest('hex');
}

/** A short content hash of the ONNX file: changes whenever the weights or the dtype do. */
export function fingerprint(sha256: string): string {
  return sha256.slice(0, 16);
}

/** MODEL_SHA256 is set and the ONNX file has another digest: the model must not be served. */
export class ChecksumMismatchError extends Error {
  constructor(
    readonly file: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(
      `${file} has SHA-256 ${actual}, not the ${expected} MODEL_SHA256 expects: refusing to serve it. ` +
        'Set MODEL_SHA256 to the digest of the file you mean to serve, or provide that file.',
    );
    this.name = 'ChecksumMismatchError';
  }
}
