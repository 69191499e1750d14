import type { ModelOutput } from '../model/label-scores.js';

/**
 * What is stored for a text: the model's logits (in label order) and the text's token count, and
 * for a text read in windows (`long_text: "chunk"`) their number. Scores are computed from the
 * logits for each request, so one entry answers every `function_to_apply` and `top_k` without a
 * second entry or a second model call.
 */
interface StoredOutput {
  logits: number[];
  tokens: number;
  windows?: number;
}

export function encodeOutput(output: ModelOutput): StoredOutput {
  const stored: StoredOutput = { logits: [...output.logits], tokens: output.tokens };
  if (output.windows !== undefined) stored.windows = output.windows;
  return stored;
}

/**
 * The output a stored value stands for, or undefined when the value is not one this model could
 * have written (corrupt, truncated, another label count, `windowed` and no window count): the
 * caller treats that as a miss.
 */
export function decodeOutput(value: unknown, labelCount: number, windowed = false): ModelOutput | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { logits, tokens, windows } = value as Partial<StoredOutput>;
  if (!Array.isArray(logits) || logits.length !== labelCount) return undefined;
  if (!logits.every((logit) => typeof logit === 'number' && Number.isFinite(logit))) return undefined;
  if (typeof tokens !== 'number' || !Number.isInteger(tokens) || tokens < 0) return undefined;
  if (!windowed) return { logits, tokens };
  if (typeof windows !== 'number' || !Number.isInteger(windows) || windows < 1) return undefined;
  return { logits, tokens, windows };
}
