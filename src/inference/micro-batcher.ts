import { UnavailableError } from '../common/unavailable-error.js';
import type { Clock } from './clock.js';

export interface MicroBatcherOptions {
  /** A model call takes at most this many texts. */
  maxBatchTexts: number;
  /** How long the first queued text waits for company before its batch runs anyway. */
  windowMs: number;
  /** Texts waiting (not yet running) beyond which new requests are refused at once. */
  maxQueueTexts: number;
  /**
   * Longest expected wait ahead of a new request (from the measured model time per text); past it
   * the request is refused at once, so overload yields fast 503s instead of slow answers.
   */
  maxQueueWaitMs: number;
  /** Model calls allowed to run at the same time. */
  maxConcurrentBatches: number;
}

/** Runs one model call: one output per input, in the same order. */
export type RunBatch<T> = (texts: string[]) => Promise<T[]>;

export interface BatchListener {
  onBatch?(texts: number, seconds: number, ok: boolean): void;
}

interface Waiter<T> {
  request: PendingRequest<T>;
  index: number;
}

/** One distinct text, queued or running, with every request position waiting for it. */
interface Entry<T> {
  text: string;
  waiters: Waiter<T>[];
  running: boolean;
  queuedAt: number;
}

interface PendingRequest<T> {
  results: T[];
  remaining: number;
  settled: boolean;
  entries: Entry<T>[];
  deadlineTimer?: unknown;
  resolve(results: T[]): void;
  reject(error: Error): void;
}

/** How far ahead of the oldest text the batcher looks when grouping texts of similar length. */
const LENGTH_GROUPING_LOOKAHEAD = 4;

/**
 * Groups texts from concurrent requests into model calls. A batch runs when it is full or when
 * its oldest text has waited `windowMs`; texts of similar length run together to cut padding;
 * identical texts in flight are computed once; the queue is bounded, and past it requests fail
 * fast with a `Retry-After` estimated from the measured model time per text.
 */
export class MicroBatcher<T> {
  private readonly queue: Entry<T>[] = [];
  private readonly inFlight = new Map<string, Entry<T>>();
  private running = 0;
  private runningTexts = 0;
  private windowTimer?: unknown;
  /**
   * Smoothed model seconds per text; seeded low, corrected by the first measurements. Per text,
   * not per call: a call's time grows with its size, and after a quiet spell of one-text calls a
   * per-call average would promise a sudden crowd a wait many times too short.
   */
  private secondsPerText = 0.005;

  constructor(
    private readonly run: RunBatch<T>,
    private readonly options: MicroBatcherOptions,
    private readonly clock: Clock,
    private readonly listener: BatchListener = {},
  ) {}

  /** Texts waiting for a model call (not counting running ones). */
  get queuedTexts(): number {
    return this.queue.length;
  }

  get runningBatches(): number {
    return this.running;
  }

  /** Seconds until the queued and running texts are done, from the measured time per text. */
  estimatedWaitSeconds(): number {
    return ((this.queue.length + this.runningTexts) * this.secondsPerText) / this.options.maxConcurrentBatches;
  }

  /**
   * Classifies `texts`, resolving with one result per text in order. Rejects with an
   * `UnavailableError` when the queue is full, when `timeoutMs` passes first (its texts that have
   * not started are dropped), or when the model call for one of its texts fails.
   */
  submit(texts: readonly string[], timeoutMs?: number): Promise<T[]> {
    if (texts.length === 0) return Promise.resolve([]);
    const newTexts = new Set(texts.filter((text) => !this.inFlight.has(text))).size;
    // The wait ahead of the request decides, not its own size: a large request on an idle
    // service is always taken.
    const expectedWait = this.estimatedWaitSeconds();
    if (
      this.queue.length + newTexts > this.options.maxQueueTexts ||
      expectedWait * 1000 > this.options.maxQueueWaitMs
    ) {
      return Promise.reject(
        new UnavailableError(
          'The service is at capacity; retry after the indicated delay.',
          expectedWait,
          'queue-full',
        ),
      );
    }
    return new Promise<T[]>((resolve, reject) => {
      const request: PendingRequest<T> = {
        results: new Array<T>(texts.length),
        remaining: texts.length,
        settled: false,
        entries: [],
        resolve,
        reject,
      };
      texts.forEach((text, index) => this.attach(request, text, index));
      if (timeoutMs !== undefined) {
        request.deadlineTimer = this.clock.setTimeout(() => this.expire(request), timeoutMs);
      }
      this.schedule();
    });
  }

  private attach(request: PendingRequest<T>, text: string, index: number): void {
    let entry = this.inFlight.get(text);
    if (!entry) {
      entry = { text, waiters: [], running: false, queuedAt: this.clock.now() };
      this.inFlight.set(text, entry);
      this.queue.push(entry);
    }
    entry.waiters.push({ request, index });
    if (!request.entries.includes(entry)) request.entries.push(entry);
  }

  private schedule(): void {
    while (this.running < this.options.maxConcurrentBatches && this.queue.length > 0) {
      const windowLeft = this.queue[0].queuedAt + this.options.windowMs - this.clock.now();
      if (this.queue.length < this.options.maxBatchTexts && windowLeft > 0) {
        this.windowTimer ??= this.clock.setTimeout(() => {
          this.windowTimer = undefined;
          this.schedule();
        }, windowLeft);
        return;
      }
      void this.runBatch(this.takeBatch());
    }
  }

  /** The next batch: the oldest text plus the texts closest to it in length. */
  private takeBatch(): Entry<T>[] {
    const { maxBatchTexts } = this.options;
    const candidates = this.queue.slice(0, maxBatchTexts * LENGTH_GROUPING_LOOKAHEAD);
    let batch = candidates;
    if (candidates.length > maxBatchTexts) {
      const oldest = candidates[0];
      const byLength = [...candidates].sort((a, b) => a.text.length - b.text.length);
      const position = byLength.indexOf(oldest);
      const start = Math.min(position - (position % maxBatchTexts), byLength.length - maxBatchTexts);
      batch = byLength.slice(start, start + maxBatchTexts);
    }
    const taken = new Set(batch);
    const rest = this.queue.filter((entry) => !taken.has(entry));
    this.queue.splice(0, this.queue.length, ...rest);
    if (this.windowTimer !== undefined) {
      this.clock.clearTimeout(this.windowTimer);
      this.windowTimer = undefined;
    }
    return batch;
  }

  private async runBatch(batch: Entry<T>[]): Promise<void> {
    this.running++;
    this.runningTexts += batch.length;
    for (const entry of batch) entry.running = true;
    const started = this.clock.now();
    let outcome: { results: T[] } | { error: Error };
    try {
      const results = await this.run(batch.map((entry) => entry.text));
      if (results.length !== batch.length)
        throw new Error(`model returned ${results.length} results for ${batch.length} texts`);
      outcome = { results };
    } catch (error) {
      outcome = { error: error as Error };
    }
    const seconds = (this.clock.now() - started) / 1000;
    this.secondsPerText = this.secondsPerText * 0.8 + (seconds / batch.length) * 0.2;
    this.running--;
    this.runningTexts -= batch.length;
    this.listener.onBatch?.(batch.length, seconds, 'results' in outcome);
    batch.forEach((entry, i) => {
      this.inFlight.delete(entry.text);
      for (const waiter of entry.waiters) {
        if ('results' in outcome) this.fulfil(waiter, outcome.results[i]);
        else this.fail(waiter.request, modelFailure(outcome.error));
      }
    });
    this.schedule();
  }

  private fulfil({ request, index }: Waiter<T>, result: T): void {
    if (request.settled) return;
    request.results[index] = result;
    if (--request.remaining === 0) {
      this.settle(request);
      request.resolve(request.results);
    }
  }

  private fail(request: PendingRequest<T>, error: Error): void {
    if (request.settled) return;
    this.settle(request);
    request.reject(error);
  }

  private settle(request: PendingRequest<T>): void {
    request.settled = true;
    if (request.deadlineTimer !== undefined) this.clock.clearTimeout(request.deadlineTimer);
  }

  /** Deadline passed: answer now, and drop the texts nobody else waits for if they have not started. */
  private expire(request: PendingRequest<T>): void {
    if (request.settled) return;
    this.fail(
      request,
      new UnavailableError(
        'The request could not be served within REQUEST_TIMEOUT_MS.',
        this.estimatedWaitSeconds(),
        'request-timeout',
      ),
    );
    for (const entry of request.entries) {
      entry.waiters = entry.waiters.filter((waiter) => waiter.request !== request);
      if (entry.waiters.length === 0 && !entry.running) {
        this.inFlight.delete(entry.text);
        this.queue.splice(this.queue.indexOf(entry), 1);
      }
    }
  }
}

function modelFailure(cause: Error): UnavailableError {
  const error = new UnavailableError('The model failed on this batch; retry the request.', 1, 'inference-failed');
  error.cause = cause;
  return error;
}
