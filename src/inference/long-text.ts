import { TooManyRequestWindowsError, TooManyWindowsError } from '../common/too-many-windows-error.js';

/**
 * How a text longer than the model's window is read: `truncate` cuts it (what is past the cut
 * never counts); `chunk` reads all of it, in overlapping windows whose answers are combined.
 */
export const LONG_TEXT_MODES = ['truncate', 'chunk'] as const;
export type LongTextMode = (typeof LONG_TEXT_MODES)[number];

/** `long_text: "chunk"`: how texts are cut into windows, and how many windows are allowed. */
export interface ChunkOptions {
  /** The share of a window consecutive windows have in common, in % (LONG_TEXT_STRIDE_PERCENT). */
  stridePercent: number;
  /** Most windows one text may have (LONG_TEXT_MAX_WINDOWS). */
  maxWindowsPerText: number;
  /** Most windows the texts of one request may have together (LONG_TEXT_MAX_WINDOWS_PER_REQUEST); none for job chunks. */
  maxWindowsPerRequest?: number;
}

/**
 * Refuses texts past the window limits: each text on its own first (TooManyWindowsError, naming
 * every such text), then all of them together (TooManyRequestWindowsError).
 */
export function checkWindowLimits(windowCounts: readonly number[], options: ChunkOptions): void {
  const over = windowCounts.flatMap((windows, index) =>
    windows > options.maxWindowsPerText ? [{ index, windows }] : [],
  );
  if (over.length > 0) throw new TooManyWindowsError(over, options.maxWindowsPerText);
  const total = windowCounts.reduce((sum, windows) => sum + windows, 0);
  if (options.maxWindowsPerRequest !== undefined && total > options.maxWindowsPerRequest) {
    throw new TooManyRequestWindowsError(total, options.maxWindowsPerRequest);
  }
}

/**
 * A text's logits from its windows' logits: their mean, each window weighted by its length in
 * tokens (so a short last window counts for little); the request's score function applies to the
 * result as to any text's logits. One window's logits are returned as they are, so a text that fits
 * the model answers byte for byte as it does with `truncate`.
 */
export function aggregateWindows(rows: readonly (readonly number[])[], lengths: readonly number[]): readonly number[] {
  if (rows.length === 1) return rows[0];
  const total = lengths.reduce((sum, length) => sum + length, 0);
  return rows[0].map((_, label) => rows.reduce((sum, row, i) => sum + row[label] * lengths[i], 0) / total);
}
