import { TooManyTokensError } from '../common/too-many-tokens-error.js';
import { TooManyRequestWindowsError, TooManyWindowsError } from '../common/too-many-windows-error.js';
import type { ModelOutput } from '../model/label-scores.js';
import { checkWindowLimits } from './long-text.js';
import type { ReadOptions } from './text-classifier.js';

/** What the limits look at: a text's length in tokens and, read in windows, how many. */
export type TextCost = Pick<ModelOutput, 'tokens' | 'windows'>;

/**
 * Refuses the texts a request's options do not let through, naming positions among `costs`: with
 * `long_text: "chunk"` those past the window limits (TooManyWindowsError, TooManyRequestWindowsError),
 * with `truncate: false` those longer than the model (TooManyTokensError). The one check, run for
 * each text where its cost becomes known: the cache for the texts it holds, the inference for the
 * texts it tokenized, before any of them is queued.
 */
export function checkReadLimits(costs: readonly TextCost[], options: Omit<ReadOptions, 'signal'>): void {
  if (options.chunk) {
    checkWindowLimits(
      costs.map((cost) => cost.windows ?? 1),
      options.chunk,
    );
    return;
  }
  if (options.truncate !== false) return;
  const limit = options.model.maxSequenceLength;
  const over = costs.flatMap(({ tokens }, index) => (tokens > limit ? [{ index, tokens }] : []));
  if (over.length > 0) throw new TooManyTokensError(over, limit);
}

/**
 * A limit error that names positions among `checked`, at every position of those texts among
 * `texts` (a text may repeat); a request's window total gains `windowsBefore`, the windows of its
 * texts checked before. Other errors pass as they are.
 */
export function atPositionsAmong(
  error: unknown,
  checked: readonly string[],
  texts: readonly string[],
  windowsBefore = 0,
): unknown {
  if (error instanceof TooManyRequestWindowsError) {
    return new TooManyRequestWindowsError(error.windows + windowsBefore, error.limit + windowsBefore);
  }
  if (!(error instanceof TooManyTokensError) && !(error instanceof TooManyWindowsError)) return error;
  const positions = new Map<string, number[]>();
  texts.forEach((text, index) => {
    const at = positions.get(text);
    if (at) at.push(index);
    else positions.set(text, [index]);
  });
  const moved = <T extends { index: number }>(refused: readonly T[]): T[] =>
    refused
      .flatMap((item) => (positions.get(checked[item.index]) ?? []).map((index) => ({ ...item, index })))
      .sort((a, b) => a.index - b.index);
  return error instanceof TooManyTokensError
    ? new TooManyTokensError(moved(error.texts), error.limit)
    : new TooManyWindowsError(moved(error.texts), error.limit);
}
