/**
 * The service cannot take this work right now but will soon (model loading, queue full,
 * shutting down). The HTTP layer answers 503 with `Retry-After`.
 */
export class UnavailableError extends Error {
  constructor(
    message: string,
    /** Seconds after which a retry is likely to succeed. */
    readonly retryAfterSeconds: number,
    /** Short machine-readable reason, used as the problem type suffix. */
    readonly reason: string,
    /** Extra response headers (e.g. `connection: close` for a refused upload). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'UnavailableError';
  }
}
