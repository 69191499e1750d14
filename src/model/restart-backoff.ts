/**
 * When to start a lost worker thread again: after `baseDelayMs`, doubling with each restart that
 * did not bring it back to work, and not at all after `maxInARow` of them (MODEL_RESTART_BACKOFF_MS,
 * MODEL_MAX_RESTARTS), so one bad run does not end the pod and a worker that cannot work is given
 * up on. The model worker and the tokenizer worker each have one.
 */
export class RestartBackoff {
  private restartsInARow = 0;

  constructor(
    private readonly baseDelayMs: number,
    private readonly maxInARow: number,
  ) {}

  /** Restarts since the worker last did its work. */
  get inARow(): number {
    return this.restartsInARow;
  }

  /** The delay before the next restart, counted as one; undefined once `maxInARow` restarts in a row failed. */
  nextDelayMs(): number | undefined {
    if (this.restartsInARow >= this.maxInARow) return undefined;
    return this.baseDelayMs * 2 ** this.restartsInARow++;
  }

  /** The worker did its work: the next loss starts from `baseDelayMs` again. */
  succeeded(): void {
    this.restartsInARow = 0;
  }
}
