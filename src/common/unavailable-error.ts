/**
 * The shortest Retry-After: what failed was this attempt (a call, a hung-up client, a replica
 * shutting down), not the service, so a retry may succeed at once.
 */
export const RETRY_AT_ONCE_SECONDS = 1;

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
