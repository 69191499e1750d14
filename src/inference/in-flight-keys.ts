import type { TruncationSide } from '../model/token-sequences.js';

/*
 * The scheduler's in-flight keys: texts with equal keys are computed once while in flight. A key
 * holds the cache scope (identical texts are shared only within one, never across) and how the text
 * is read, so a text cut from one side, from the other, or read in windows never share a result.
 */

/** The key of a text cut to the model's maximum from `side`. */
export function truncatedTextKey(scope: string, side: TruncationSide, text: string): string {
  return `${scope}\u0000${side}\u0000${text}`;
}

/** The key of one window of a text read with `long_text: "chunk"` at `stridePercent`. */
export function windowKey(scope: string, stridePercent: number, window: number, text: string): string {
  return `${scope}\u0000chunk:${stridePercent}:${window}\u0000${text}`;
}
