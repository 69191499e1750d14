import { Inject, Injectable } from '@nestjs/common';
import { trace } from '@opentelemetry/api';
import { SETTINGS } from '../config/config.module.js';
import type { Settings } from '../config/settings.js';
import type { UnavailableError } from '../common/unavailable-error.js';
import { TooManyTokensError } from '../common/too-many-tokens-error.js';
import type { ModelOutput } from '../model/label-scores.js';
import type { TokenizedTexts, TruncationSide } from '../model/token-sequences.js';
import { SentimentModel } from '../model/sentiment-model.service.js';
import { inSpan, SPAN, tracer } from '../telemetry/spans.js';
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
  /** Which end of a text longer than the model takes is cut (default right). */
  truncation?: TruncationSide;
  /** False: such a text is refused (TooManyTokensError) instead of cut. */
  truncate?: boolean;
  /** `bulk` (job chunks) only fills idle model time and is never refused; default `interactive`. */
  priority?: Priority;
}

/** One row of logits, in the model's label order. */
type Logits = readonly number[];

/**
 * What request handlers call instead of the model: tokenizes on the tokenizer worker, then
 * hands the token sequences to the scheduler, which batches them by token cost, admits or
 * refuses from its cost model, keeps flows fair, and runs the model calls.
 */
@Injectable()
export class InferenceService {
  readonly scheduler: TokenScheduler<Logits>;
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
    this.scheduler = new TokenScheduler<Logits>(
      // The watchdog's deadline: MODEL_CALL_TIMEOUT_MS, or 10 × what the cost model expects of a long call.
      (sequences, expectedSeconds) => {
        // The scheduler's model call span is active here; the dtype is the model's to tell.
        const dtype = this.model.info?.dtype;
        if (dtype !== undefined) trace.getActiveSpan()?.setAttribute('sentiment.model.dtype', dtype);
        return this.model.classifySequences(
          sequences,
          Math.max(settings.modelCallTimeoutMs, WATCHDOG_FACTOR * expectedSeconds * 1000),
        );
      },
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
    if (refusal) {
      this.listeners.forEach((listener) => listener.onRefuse?.('over-capacity'));
      // Only a refusal gets a span here: an admitted request's admission span follows its tokenization.
      const span = tracer.startSpan(SPAN.admission);
      if (span.isRecording()) {
        span.setAttributes({
          'sentiment.admission.decision': 'refused',
          'sentiment.admission.reason': 'over-capacity',
          'sentiment.admission.early': true,
          'sentiment.admission.wait_ms': this.scheduler.estimatedWaitSeconds() * 1000,
          'sentiment.admission.limit_ms': this.scheduler.admissionLimitSeconds * 1000,
        });
      }
      span.end();
    }
    return refusal;
  }

  /**
   * The tokenizer worker takes one message at a time: bulk texts go in slices of one model call's
   * worth, so an interactive request's tokenization waits for at most one slice, not a whole chunk.
   */
  private async tokenizeInSlices(texts: readonly string[], truncation: TruncationSide): Promise<TokenizedTexts> {
    const tokenized: TokenizedTexts = { sequences: [], fullLengths: [] };
    for (let start = 0; start < texts.length; start += this.bulkTokenizeSlice) {
      const slice = await this.model.tokenize(texts.slice(start, start + this.bulkTokenizeSlice), truncation);
      tokenized.sequences.push(...slice.sequences);
      tokenized.fullLengths.push(...slice.fullLengths);
    }
    return tokenized;
  }

  /** The model's logits and the token count of each text, in order. */
  async classify(texts: readonly string[], options: ClassifyOptions = {}): Promise<ModelOutput[]> {
    // Before the model is ready, or when nothing could be admitted, fail before tokenizing.
    const { maxSequenceLength } = this.model.requireInfo();
    const refusal = options.priority === 'bulk' ? undefined : this.refuseEarly();
    if (refusal) throw refusal;
    const truncation = options.truncation ?? 'right';
    const { sequences, fullLengths } = await inSpan(SPAN.tokenize, {}, async (span) => {
      const tokenized =
        options.priority === 'bulk'
          ? await this.tokenizeInSlices(texts, truncation)
          : await this.model.tokenize(texts, truncation);
      if (span.isRecording()) {
        let tokens = 0;
        for (const sequence of tokenized.sequences) tokens += sequence.length;
        span.setAttributes({
          'sentiment.tokenize.texts': texts.length,
          'sentiment.tokenize.tokens': tokens,
          'sentiment.tokenize.truncated': tokenized.fullLengths.filter((length) => length > maxSequenceLength).length,
        });
      }
      return tokenized;
    });
    if (options.truncate === false) {
      const over = fullLengths.flatMap((tokens, index) => (tokens > maxSequenceLength ? [{ index, tokens }] : []));
      if (over.length > 0) throw new TooManyTokensError(over, maxSequenceLength);
    }
    // Identical texts share one computation only within one scope and one truncation side.
    const prefix = `${options.scope ?? ''}\u0000${truncation}\u0000`;
    const logits = await this.scheduler.submit(
      texts.map((text, i) => ({ key: prefix + text, tokens: sequences[i] })),
      { flow: options.flow, signal: options.signal, priority: options.priority },
    );
    return logits.map((row, i) => ({ logits: row, tokens: fullLengths[i] }));
  }
}
