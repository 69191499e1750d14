import { settleWithin } from '../common/settle-within.js';

/**
 * Whether the process has been asked to stop. Set once by the signal handler; readiness reads it,
 * so Kubernetes takes the pod out of its Service while requests are still being answered. It also
 * holds the work besides HTTP requests (bulk chunks) that the shutdown lets finish, like requests
 * in flight.
 */
export class ShutdownState {
  private started = false;
  private readonly listeners: Array<() => void> = [];
  private readonly held = new Set<Promise<unknown>>();

  get shuttingDown(): boolean {
    return this.started;
  }

  /** Marks the start of the shutdown and tells the listeners; true only for the first call. */
  begin(): boolean {
    if (this.started) return false;
    this.started = true;
    for (const listener of this.listeners) listener();
    return true;
  }

  /** Runs `listener` when the shutdown begins. */
  onBegin(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** Work the shutdown waits for (within the in-flight allowance) before it closes the app. */
  hold<T>(work: Promise<T>): Promise<T> {
    const settled = work.then(
      () => undefined,
      () => undefined,
    );
    this.held.add(settled);
    void settled.then(() => this.held.delete(settled));
    return work;
  }

  /** Resolves once the held work has settled, or after `withinMs`, whichever comes first. */
  async heldWorkSettled(withinMs: number): Promise<void> {
    await settleWithin(Promise.all(this.held), withinMs);
  }
}
