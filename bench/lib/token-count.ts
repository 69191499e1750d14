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

/**
 * Indices of `tokens` in batches as an ideal scheduler would cut them: sorted by length, a batch
 * takes the next text while batch size × longest text stays within `tokenBudget` and the batch holds
 * at most `maxTexts` texts (a single text longer than the budget runs alone).
 */
export function tokenBudgetBatches(tokens: readonly number[], tokenBudget: number, maxTexts: number): number[][] {
  const order = tokens.map((_, i) => i).sort((a, b) => tokens[a] - tokens[b]);
  const batches: number[][] = [];
  let batch: number[] = [];
  for (const i of order) {
    // Sorted ascending, so the text joining is the batch's longest.
    if (batch.length > 0 && ((batch.length + 1) * tokens[i] > tokenBudget || batch.length === maxTexts)) {
      batches.push(batch);
      batch = [];
    }
    batch.push(i);
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}
