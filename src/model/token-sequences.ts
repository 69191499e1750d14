import type { PreTrainedTokenizer } from '@huggingface/transformers';

/**
 * Token sequences packed for a worker message: every sequence's ids end to end, plus each
 * sequence's length. Two typed arrays cross a thread boundary by transfer, without a copy.
 */
export interface PackedSequences {
  ids: Int32Array;
  lengths: Int32Array;
}

export function packSequences(sequences: readonly ArrayLike<number>[]): PackedSequences {
  const lengths = Int32Array.from(sequences, (sequence) => sequence.length);
  const ids = new Int32Array(lengths.reduce((sum, length) => sum + length, 0));
  let offset = 0;
  for (const sequence of sequences) {
    ids.set(sequence, offset);
    offset += sequence.length;
  }
  return { ids, lengths };
}

/** The sequences of a pack, as views on its ids. */
export function unpackSequences({ ids, lengths }: PackedSequences): Int32Array[] {
  const sequences: Int32Array[] = [];
  let offset = 0;
  for (const length of lengths) {
    sequences.push(ids.subarray(offset, offset + length));
    offset += length;
  }
  return sequences;
}

/** Which end of a text too long for the model is cut off. */
export type TruncationSide = 'right' | 'left';

/** Each text's token ids as the model takes them, and each text's whole length in tokens. */
export interface TokenizedTexts {
  sequences: Int32Array[];
  fullLengths: number[];
  /**
   * Only when texts were cut into windows (token-windows.ts): how many windows each text has;
   * `sequences` then holds every window, text after text.
   */
  windowCounts?: number[];
}

/** Token sequences cut to the model's maximum, and how long each text was before the cut (packed for a worker message). */
export interface Tokenized extends PackedSequences {
  /** Each text's whole length in tokens, special tokens included. */
  fullLengths: Int32Array;
}

/** Each text's token ids with the model's special tokens, whole (nothing cut). */
export function fullTokenIds(tokenizer: PreTrainedTokenizer, texts: readonly string[]): number[][] {
  const { input_ids } = tokenizer([...texts], {
    padding: false,
    truncation: false,
    return_tensor: false,
  }) as unknown as {
    input_ids: number[][];
  };
  return input_ids;
}

/**
 * Token ids of each text with the model's special tokens, cut to `maxLength` tokens. From the
 * right it is exactly what transformers.js's own `truncation: true` feeds the model: the first
 * `maxLength` tokens (the closing separator goes with the cut). From the left, the leading special
 * tokens stay and the text's end (closing separator included) fills the rest.
 */
export function tokenizeTexts(
  tokenizer: PreTrainedTokenizer,
  texts: readonly string[],
  maxLength: number,
  side: TruncationSide = 'right',
): Tokenized {
  if (texts.length === 0) return { ...packSequences([]), fullLengths: new Int32Array() };
  const input_ids = fullTokenIds(tokenizer, texts);
  const leading = side === 'left' ? specialTokenCounts(tokenizer).leading : 0;
  const cut = input_ids.map((ids) => {
    if (ids.length <= maxLength) return ids;
    if (side === 'right') return ids.slice(0, maxLength);
    return [...ids.slice(0, leading), ...ids.slice(ids.length - (maxLength - leading))];
  });
  return { ...packSequences(cut), fullLengths: Int32Array.from(input_ids, (ids) => ids.length) };
}

/** How many special tokens the tokenizer puts before and after a text's own (1 and 1 for BERT's `[CLS]`, `[SEP]`). */
export interface SpecialTokenCounts {
  leading: number;
  trailing: number;
}

const specialCounts = new WeakMap<PreTrainedTokenizer, SpecialTokenCounts>();

export function specialTokenCounts(tokenizer: PreTrainedTokenizer): SpecialTokenCounts {
  let counts = specialCounts.get(tokenizer);
  if (counts === undefined) {
    const plain = tokenizer.encode('a', { add_special_tokens: false });
    const full = tokenizer.encode('a', { add_special_tokens: true });
    const leading = Math.max(0, full.indexOf(plain[0]));
    counts = { leading, trailing: Math.max(0, full.length - leading - plain.length) };
    specialCounts.set(tokenizer, counts);
  }
  return counts;
}
