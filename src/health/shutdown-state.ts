/**
 * Whether the process has been asked to stop. Set once by the signal handler; readiness reads it,
 * so Kubernetes takes the pod out of its Service while requests are still being answered.
 */
export class ShutdownState {
  private started = false;

  get shuttingDown(): boolean {
    return this.started;
  }

  /** Marks the start of the shutdown; true only for the first call. */
  begin(): boolean {
    if (this.started) return false;
    this.started = true;
    return true;
  }
}
