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

/**
 * Token ids of each text with the model's special tokens, cut to the model's maximum length
 * from the right: exactly what the tokenizer feeds the model for that text alone.
 */
export function tokenizeTexts(tokenizer: PreTrainedTokenizer, texts: readonly string[]): PackedSequences {
  if (texts.length === 0) return packSequences([]);
  const { input_ids } = tokenizer([...texts], {
    padding: false,
    truncation: true,
    return_tensor: false,
  }) as unknown as {
    input_ids: number[][];
  };
  return packSequences(input_ids);
}
