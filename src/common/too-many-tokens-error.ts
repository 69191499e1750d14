/**
 * Texts longer than the model takes, when the caller asked for them to be refused rather than cut
 * (`truncate: false`). Carries positions and counts only, never the texts.
 */
export class TooManyTokensError extends Error {
  constructor(
    /** Each refused text: its position among the texts classified, and its length in tokens. */
    readonly texts: readonly { index: number; tokens: number }[],
    /** The most tokens the model takes. */
    readonly limit: number,
  ) {
    super(`${texts.length} text(s) longer than the model's ${limit} tokens`);
    this.name = 'TooManyTokensError';
  }
}
