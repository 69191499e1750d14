import type { PreTrainedTokenizer } from '@huggingface/transformers';
import { fullTokenIds, packSequences, specialTokenCounts, type Tokenized } from './token-sequences.js';

/**
 * Where the windows of a text of `content` tokens start, each `size` tokens long and sharing
 * `stride` tokens with the one before (the first at 0, the last reaching the text's end, maybe
 * shorter): one window when the text fits.
 */
export function windowStarts(content: number, size: number, stride: number): number[] {
  if (content <= size) return [0];
  const step = size - stride;
  const count = 1 + Math.ceil((content - size) / step);
  return Array.from({ length: count }, (_, i) => i * step);
}

/** Tokens consecutive windows share: `stridePercent` % of a window's own tokens, rounded down. */
export function strideTokens(size: number, stridePercent: number): number {
  return Math.floor((size * stridePercent) / 100);
}

/** Every window of every text, text after text (packed for a worker message), and each text's window count. */
export interface Windowed extends Tokenized {
  windowCounts: Int32Array;
}

/**
 * Token ids of each text cut into overlapping windows the model takes whole: a text that fits
 * `maxLength` is one window, exactly the sequence `tokenizeTexts` gives it; a longer one is cut into
 * windows of `maxLength` minus the special tokens of its own tokens, each wrapped in the special
 * tokens again (`[CLS] … [SEP]`), consecutive windows sharing `stridePercent` % of them.
 */
export function windowTexts(
  tokenizer: PreTrainedTokenizer,
  texts: readonly string[],
  maxLength: number,
  stridePercent: number,
): Windowed {
  if (texts.length === 0)
    return { ...packSequences([]), fullLengths: new Int32Array(), windowCounts: new Int32Array() };
  const { leading, trailing } = specialTokenCounts(tokenizer);
  const size = maxLength - leading - trailing;
  const stride = strideTokens(size, stridePercent);
  const input_ids = fullTokenIds(tokenizer, texts);
  const windows: number[][] = [];
  const windowCounts = new Int32Array(texts.length);
  input_ids.forEach((ids, i) => {
    if (ids.length <= maxLength) {
      windows.push(ids);
      windowCounts[i] = 1;
      return;
    }
    const opening = ids.slice(0, leading);
    const closing = ids.slice(ids.length - trailing);
    const content = ids.slice(leading, ids.length - trailing);
    const starts = windowStarts(content.length, size, stride);
    for (const start of starts) windows.push([...opening, ...content.slice(start, start + size), ...closing]);
    windowCounts[i] = starts.length;
  });
  return { ...packSequences(windows), fullLengths: Int32Array.from(input_ids, (ids) => ids.length), windowCounts };
}
