// Counts real tokens the way the model sees them: the model's own tokenizer (AutoTokenizer from
// @huggingface/transformers on the model's folder), [CLS]/[SEP] included, truncated to its maximum
// length. Run outside any timed window: tokenizing costs CPU the server would otherwise get.
import { AutoTokenizer, env as transformersEnv } from '@huggingface/transformers';
import { resolve } from 'node:path';

export interface TokenizerLocation {
  modelDir: string;
  modelId: string;
}

export type TokenCounter = (texts: readonly string[]) => number[];

/** Texts per tokenizer call: bounds the memory of one call on long workloads. */
const CHUNK = 256;

export async function loadTokenCounter({ modelDir, modelId }: TokenizerLocation): Promise<TokenCounter> {
  transformersEnv.localModelPath = resolve(modelDir);
  transformersEnv.allowLocalModels = true;
  transformersEnv.allowRemoteModels = false;
  const tokenizer = await AutoTokenizer.from_pretrained(modelId, { local_files_only: true });
  return (texts) => {
    const counts: number[] = [];
    for (let i = 0; i < texts.length; i += CHUNK) {
      const { input_ids } = tokenizer([...texts.slice(i, i + CHUNK)], { truncation: true, return_tensor: false }) as {
        input_ids: number[][];
      };
      for (const ids of input_ids) counts.push(ids.length);
    }
    return counts;
  };
}

export const sum = (values: readonly number[]): number => values.reduce((total, value) => total + value, 0);
