import { Inject, Injectable } from '@nestjs/common';
import { SETTINGS } from '../config/config.module.js';
import type { Settings } from '../config/settings.js';
import type { UnavailableError } from '../common/unavailable-error.js';
import type { Prediction } from '../model/label-scores.js';
import { SentimentModel } from '../model/sentiment-model.service.js';
import { systemClock } from './clock.js';
import { TokenScheduler, type Priority, type SchedulerListener } from './token-scheduler.js';

/** How many times its expected time a model call may take before the worker counts as wedged. */
const WATCHDOG_FACTOR = 10;

export interface ClassifyOptions {
  /** The unit of fairness (a tenant); without it the request is its own. */
  flow?: string;
  /** Identical texts are computed once only within one scope (a tenant), never across. */
  scope?: string;
  /** Aborted when the client hangs up (or its job is cancelled). */
  signal?: AbortSignal;
  /** `bulk` (job chunks) only fills idle model time and is never refused; default `interactive`. */
  priority?: Priority;
}

/**
 * What request handlers call instead of the model: tokenizes on the tokenizer worker, then
 * hands the token sequences to the scheduler, which batches them by token cost, admits or
 * refuses from its cost model, keeps flows fair, and runs the model calls.
 */
@Injectable()
export class InferenceService {
  readonly scheduler: TokenScheduler<Prediction>;
  private readonly listeners: SchedulerListener[] = [];
  private readonly bulkTokenizeSlice: number;

  constructor(
    private readonly model: SentimentModel,
    @Inject(SETTINGS) settings: Settings,
  ) {
    this.bulkTokenizeSlice = settings.batchMaxTexts;
    const fanOut: SchedulerListener = {
      onCall: (call) => this.listeners.forEach((listener) => listener.onCall?.(call)),
      onAdmit: (texts, tokens) => this.listeners.forEach((listener) => listener.onAdmit?.(texts, tokens)),
      onRefuse: (reason) => this.listeners.forEach((listener) => listener.onRefuse?.(reason)),
      onDrop: (reason, texts) => this.listeners.forEach((listener) => listener.onDrop?.(reason, texts)),
    };
    this.scheduler = new TokenScheduler<Prediction>(
      // The watchdog's deadline: MODEL_CALL_TIMEOUT_MS, or 10 × what the cost model expects of a long call.
      (sequences, expectedSeconds) =>
        this.model.classifySequences(
          sequences,
          Math.max(settings.modelCallTimeoutMs, WATCHDOG_FACTOR * expectedSeconds * 1000),
        ),
      {
        maxBatchTokens: settings.batchMaxTokens,
        maxBatchTexts: settings.batchMaxTexts,
        windowMs: settings.batchWindowMs,
        maxConcurrentCalls: settings.maxConcurrentBatches,
        maxQueueTokens: settings.queueMaxTokens,
        deadlineMs: settings.requestTimeoutMs,
      },
      systemClock,
      fanOut,
    );
    // The calls the model timed at load replace the prior's guess with this machine's speed.
    model.onReady((calibration) => {
      for (const { seconds, ...shape } of calibration) this.scheduler.costModel.observe(shape, seconds);
    });
  }

  /** Observes the scheduler (for metrics). */
  addListener(listener: SchedulerListener): void {
    this.listeners.push(listener);
  }

  /**
   * The 503 any request needing the model would get now, or undefined: the queue alone is past
   * what the deadline allows. Lets the HTTP edge refuse before reading a body.
   */
  refuseEarly(): UnavailableError | undefined {
    const refusal = this.scheduler.refusalForAnyRequest();
    if (refusal) this.listeners.forEach((listener) => listener.onRefuse?.('over-capacity'));
    return refusal;
  }

  /**
   * The tokenizer worker takes one message at a time: bulk texts go in slices of one model call's
   * worth, so an interactive request's tokenization waits for at most one slice, not a whole chunk.
   */
  private async tokenizeInSlices(texts: readonly string[]): Promise<Int32Array[]> {
    const sequences: Int32Array[] = [];
    for (let start = 0; start < texts.length; start += this.bulkTokenizeSlice) {
      sequences.push(...(await this.model.tokenize(texts.slice(start, start + this.bulkTokenizeSlice))));
    }
    return sequences;
  }

  async classify(texts: readonly string[], options: ClassifyOptions = {}): Promise<Prediction[]> {
    // Before the model is ready, or when nothing could be admitted, fail before tokenizing.
    this.model.requireInfo();
    const refusal = options.priority === 'bulk' ? undefined : this.refuseEarly();
    if (refusal) throw refusal;
    const sequences =
      options.priority === 'bulk' ? await this.tokenizeInSlices(texts) : await this.model.tokenize(texts);
    const prefix = options.scope === undefined ? '' : `${options.scope}\u0000`;
    return this.scheduler.submit(
      texts.map((text, i) => ({ key: prefix + text, tokens: sequences[i] })),
      { flow: options.flow, signal: options.signal, priority: options.priority },
    );
  }
}
