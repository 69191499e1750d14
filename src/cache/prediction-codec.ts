import type { ModelOutput } from '../model/label-scores.js';

/**
 * What is stored for a text: the model's logits (in label order) and the text's token count. Scores
 * are computed from the logits for each request, so one entry answers every `function_to_apply`
 * and `top_k` without a second entry or a second model call.
 */
interface StoredOutput {
  logits: number[];
  tokens: number;
}

export function encodeOutput(output: ModelOutput): StoredOutput {
  return { logits: [...output.logits], tokens: output.tokens };
}

/**
 * The output a stored value stands for, or undefined when the value is not one this model could
 * have written (corrupt, truncated, another label count): the caller treats that as a miss.
 */
export function decodeOutput(value: unknown, labelCount: number): ModelOutput | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { logits, tokens } = value as Partial<StoredOutput>;
  if (!Array.isArray(logits) || logits.length !== labelCount) return undefined;
  if (!logits.every((logit) => typeof logit === 'number' && Number.isFinite(logit))) return undefined;
  if (typeof tokens !== 'number' || !Number.isInteger(tokens) || tokens < 0) return undefined;
  return { logits, tokens };
}
