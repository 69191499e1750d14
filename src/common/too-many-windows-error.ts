/**
 * Texts that `long_text: "chunk"` would cut into more windows than one text may have
 * (LONG_TEXT_MAX_WINDOWS). Carries positions and counts only, never the texts.
 */
export class TooManyWindowsError extends Error {
  constructor(
    /** Each refused text: its position among the texts checked, and the windows it needs. */
    readonly texts: readonly { index: number; windows: number }[],
    /** The most windows one text may have. */
    readonly limit: number,
  ) {
    super(`${texts.length} text(s) need more than ${limit} windows`);
    this.name = 'TooManyWindowsError';
  }
}

/** Texts that together need more windows than one request may have (LONG_TEXT_MAX_WINDOWS_PER_REQUEST). */
export class TooManyRequestWindowsError extends Error {
  constructor(
    /** The windows the texts need together. */
    readonly windows: number,
    /** The most windows one request may have. */
    readonly limit: number,
  ) {
    super(`the texts need ${windows} windows together, more than ${limit}`);
    this.name = 'TooManyRequestWindowsError';
  }
}
