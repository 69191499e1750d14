import type { ModelSession } from './model-session.js';

/** One timed model call of a known shape, made at load so the scheduler's cost model starts from this machine. */
export interface TimedCall {
  texts: number;
  paddedLength: number;
  seconds: number;
}

/**
 * Shapes timed at load: a lone short text (the per-call cost), a batch of medium texts (the
 * per-token cost) and long texts (attention's share). About 1,000 tokens: well under a second
 * on DistilBERT-base.
 */
const CALIBRATION_SHAPES = [
  { texts: 1, paddedLength: 16 },
  { texts: 8, paddedLength: 64 },
  { texts: 2, paddedLength: 256 },
] as const;

/**
 * Readies a freshly loaded session for traffic and times it: the first run allocates ONNX
 * Runtime's buffers (paid for here, not by a request), then each of CALIBRATION_SHAPES is timed
 * on sequences of `[CLS] the the … [SEP]` (a call's time depends on its shape, not its tokens).
 */
export async function warmUpAndCalibrate(session: ModelSession): Promise<TimedCall[]> {
  await session.classify(['warm up the model']);
  const { tokenizer } = session;
  const { cls_token_id: first, sep_token_id: last } = tokenizer as unknown as Record<string, number>;
  const filler = tokenizer.convert_tokens_to_ids('the');
  const calibration: TimedCall[] = [];
  for (const { texts, paddedLength } of CALIBRATION_SHAPES) {
    const length = Math.min(paddedLength, session.info.maxSequenceLength);
    const sequence = new Int32Array(length).fill(filler);
    sequence[0] = first ?? filler;
    sequence[length - 1] = last ?? filler;
    const started = performance.now();
    await session.classifySequences(Array.from({ length: texts }, () => sequence));
    calibration.push({ texts, paddedLength: length, seconds: (performance.now() - started) / 1000 });
  }
  return calibration;
}
