import type { Worker } from 'node:worker_threads';

interface Call {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

/** Calls to one worker thread awaiting replies, matched by id; a worker that dies fails them all. */
export class WorkerCalls {
  private nextId = 1;
  private readonly calls = new Map<number, Call>();
  private onIdle?: () => void;

  /** Posts `message(id)` and resolves with the reply `settle(id, ...)` is given. */
  call<R>(worker: Worker, message: (id: number) => object, transfer: ArrayBuffer[] = []): Promise<R> {
    const id = this.nextId++;
    return new Promise<R>((resolve, reject) => {
      this.calls.set(id, { resolve, reject });
      worker.postMessage(message(id), transfer);
    });
  }

  resolve(id: number, value: unknown): void {
    this.take(id)?.resolve(value);
  }

  reject(id: number, error: Error): void {
    this.take(id)?.reject(error);
  }

  failAll(error: Error): void {
    const calls = [...this.calls.values()];
    this.calls.clear();
    for (const call of calls) call.reject(error);
    this.onIdle?.();
  }

  /** Resolves once no call is waiting, or after `timeoutMs`. */
  idle(timeoutMs: number): Promise<void> {
    if (this.calls.size === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.onIdle = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private take(id: number): Call | undefined {
    const call = this.calls.get(id);
    this.calls.delete(id);
    if (this.calls.size === 0) this.onIdle?.();
    return call;
  }
}
