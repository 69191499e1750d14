import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ModelDtype } from '../config/settings.js';

/** File names transformers.js looks for, per dtype, as on the Hugging Face hub. */
export function onnxFileName(dtype: ModelDtype): string {
  return dtype === 'q8' ? 'onnx/model_quantized.onnx' : 'onnx/model.onnx';
}

export function modelFolder(modelDir: string, modelId: string): string {
  return join(modelDir, ...modelId.split('/'));
}

export function hasLocalModel(modelDir: string, modelId: string, dtype: ModelDtype): boolean {
  const folder = modelFolder(modelDir, modelId);
  return ['config.json', 'tokenizer.json', onnxFileName(dtype)].every((file) => existsSync(join(folder, file)));
}

/** A short content hash of the ONNX file: changes whenever the weights or the dtype do. */
export async function fingerprintFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex').slice(0, 16);
}
