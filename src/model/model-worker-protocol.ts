import type { TimedCall } from './calibration.js';
import type { ModelLoadOptions } from './model-resolution.js';
import type { ModelInfo } from './model-session.js';
import type { TruncationSide } from './token-sequences.js';

/** What the model worker is started with. */
export type ModelWorkerData = ModelLoadOptions;

/** Messages from the service to the model worker: one model call on token sequences. */
export interface ToWorker {
  type: 'classify';
  id: number;
  /** The sequences' ids end to end, and each one's length (see token-sequences.ts). */
  ids: Int32Array;
  lengths: Int32Array;
}

/** Messages from the model worker to the service. */
export type ToMain =
  | { type: 'log'; level: 'info' | 'warn' | 'error'; fields: Record<string, unknown> }
  | { type: 'ready'; info: ModelInfo; calibration: TimedCall[] }
  | { type: 'failed'; message: string }
  /** One row of logits per sequence, `labels.length` wide, end to end. */
  | { type: 'result'; id: number; logits: Float32Array }
  | { type: 'error'; id: number; message: string };

/** What the tokenizer worker is started with: where the model that loaded keeps its files. */
export interface TokenizerWorkerData {
  modelDir: string;
  modelId: string;
  /** The most tokens the model takes; longer texts are cut. */
  maxSequenceLength: number;
}

export interface ToTokenizer {
  type: 'tokenize';
  id: number;
  texts: string[];
  truncation: TruncationSide;
  /** Set: cut long texts into overlapping windows sharing this % of a window (token-windows.ts), `truncation` unused. */
  windowStridePercent?: number;
}

export type FromTokenizer =
  | { type: 'ready' }
  | { type: 'failed'; message: string }
  | {
      type: 'tokens';
      id: number;
      ids: Int32Array;
      lengths: Int32Array;
      fullLengths: Int32Array;
      /** Only for a windowed call: each text's window count. */
      windowCounts?: Int32Array;
    }
  | { type: 'error'; id: number; message: string };
