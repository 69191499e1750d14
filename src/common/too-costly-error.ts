/**
 * The request alone needs more model time than the service promises any request (its deadline),
 * so no retry can succeed: the caller must split it. The HTTP layer answers 413.
 */
export class TooCostlyError extends Error {
  constructor(
    /** Estimated model seconds the request needs. */
    readonly estimatedSeconds: number,
    /** Seconds of model time the service gives one request. */
    readonly limitSeconds: number,
  ) {
    super(
      `This request needs about ${Math.ceil(estimatedSeconds)} s of model time, more than the ` +
        `${Math.floor(limitSeconds)} s a request may take (REQUEST_TIMEOUT_MS); send its texts in smaller requests.`,
    );
    this.name = 'TooCostlyError';
  }
}
