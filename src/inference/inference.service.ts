import { Inject, Injectable } from '@nestjs/common';
import { trace } from '@opentelemetry/api';
import { SETTINGS } from '../config/config.module.js';
import type { Settings } from '../config/settings.js';
import type { UnavailableError } from '../common/unavailable-error.js';
import type { Caller } from '../common/caller.js';
import type { ModelOutput } from '../model/label-scores.js';
import type { TokenizedTexts, TruncationSide } from '../model/token-sequences.js';
import { SentimentModel } from '../model/sentiment-model.service.js';
import { inSpan, SPAN, tracer } from '../telemetry/spans.js';
import { systemClock } from './clock.js';
import { truncatedTextKey, windowKey } from './in-flight-keys.js';
import { aggregateWindows, type ChunkOptions } from './long-text.js';
import { checkReadLimits } from './read-limits.js';
import type { Classified, ReadOptions, TextClassifier } from './text-classifier.js';
import { TokenScheduler, type SchedulerListener, type SubmitOptions } from './token-scheduler.js';

/** How many times its expected time a model call may take before the worker counts as wedged. */
const WATCHDOG_FACTOR = 10;

/** One row of logits, in the model's label order. */
type Logits = readonly number[];

/**
 * The classifier behind the prediction cache: tokenizes on the tokenizer worker, then hands the
 * token sequences to the scheduler, which batches them by token cost, admits or refuses from its
 * cost model, keeps flows (callers) fair, and runs the model calls.
 */
@Injectable()
export class InferenceService implements TextClassifier {
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

  /** Cut to the model's maximum from `truncation`'s side, or with `chunk` into windows. */
  private tokenizeOnce(
    texts: readonly string[],
    truncation: TruncationSide,
    chunk: ChunkOptions | undefined,
  ): Promise<TokenizedTexts> {
    return chunk ? this.model.tokenizeWindows(texts, chunk.stridePercent) : this.model.tokenize(texts, truncation);
  }

  /**
   * The tokenizer worker takes one message at a time: bulk texts go in slices of one model call's
   * worth, so an interactive request's tokenization waits for at most one slice, not a whole chunk.
   */
  private async tokenizeInSlices(
    texts: readonly string[],
    truncation: TruncationSide,
    chunk: ChunkOptions | undefined,
  ): Promise<TokenizedTexts> {
    const tokenized: TokenizedTexts = { sequences: [], fullLengths: [], ...(chunk ? { windowCounts: [] } : {}) };
    for (let start = 0; start < texts.length; start += this.bulkTokenizeSlice) {
      const slice = await this.tokenizeOnce(texts.slice(start, start + this.bulkTokenizeSlice), truncation, chunk);
      tokenized.sequences.push(...slice.sequences);
      tokenized.fullLengths.push(...slice.fullLengths);
      tokenized.windowCounts?.push(...slice.windowCounts!);
    }
    return tokenized;
  }

  /**
   * The model's logits and the token count of each text, in order (with `chunk`, combined from its
   * windows): tokenized on the tokenizer worker, checked against the request's limits, then
   * scheduled. Every text comes from the model, a cache miss as the request sees it.
   */
  async classify(texts: readonly string[], caller: Caller, options: ReadOptions): Promise<Classified> {
    const truncation = options.truncation ?? 'right';
    const { chunk } = options;
    const { maxSequenceLength } = options.model;
    const tokenized = await inSpan(SPAN.tokenize, {}, async (span) => {
      const tokenized =
        options.priority === 'bulk'
          ? await this.tokenizeInSlices(texts, truncation, chunk)
          : await this.tokenizeOnce(texts, truncation, chunk);
      if (span.isRecording()) {
        let tokens = 0;
        for (const sequence of tokenized.sequences) tokens += sequence.length;
        const long = tokenized.fullLengths.filter((length) => length > maxSequenceLength).length;
        span.setAttributes({
          'sentiment.tokenize.texts': texts.length,
          'sentiment.tokenize.tokens': tokens,
          ...(chunk
            ? { 'sentiment.tokenize.windows': tokenized.sequences.length, 'sentiment.tokenize.chunked': long }
            : { 'sentiment.tokenize.truncated': long }),
        });
      }
      return tokenized;
    });
    const { fullLengths, windowCounts } = tokenized;
    // Refused before any text is queued.
    checkReadLimits(
      fullLengths.map((tokens, i) => ({ tokens, windows: windowCounts?.[i] })),
      options,
    );
    const submit = { flow: caller.flow, signal: options.signal?.(), priority: options.priority };
    const outputs = chunk
      ? await this.classifyWindows(texts, { ...tokenized, windowCounts: windowCounts! }, chunk, caller, submit)
      : await this.classifyTexts(texts, tokenized, truncation, caller, submit);
    return { outputs, sources: outputs.map(() => 'miss') };
  }

  /** Identical texts share one computation only within one cache scope and one truncation side. */
  private async classifyTexts(
    texts: readonly string[],
    { sequences, fullLengths }: TokenizedTexts,
    truncation: TruncationSide,
    caller: Caller,
    submit: SubmitOptions,
  ): Promise<ModelOutput[]> {
    const scope = caller.cacheScope ?? '';
    const logits = await this.scheduler.submit(
      texts.map((text, i) => ({ key: truncatedTextKey(scope, truncation, text), tokens: sequences[i] })),
      submit,
    );
    return logits.map((row, i) => ({ logits: row, tokens: fullLengths[i] }));
  }

  /**
   * `long_text: "chunk"`: every window goes to the scheduler as a text of its own, in one submission
   * (same flow, deadline and hang-up), so admission prices a long text as its windows and fairness
   * interleaves them with other flows' texts; each text's answer is then combined from its windows.
   */
  private async classifyWindows(
    texts: readonly string[],
    { sequences, fullLengths, windowCounts }: Required<TokenizedTexts>,
    chunk: ChunkOptions,
    caller: Caller,
    submit: SubmitOptions,
  ): Promise<ModelOutput[]> {
    const scope = caller.cacheScope ?? '';
    const windows = texts.flatMap((text, i) =>
      Array.from({ length: windowCounts[i] }, (_, window) => windowKey(scope, chunk.stridePercent, window, text)),
    );
    const logits = await this.scheduler.submit(
      windows.map((key, w) => ({ key, tokens: sequences[w] })),
      submit,
    );
    let first = 0;
    return texts.map((_, i) => {
      const count = windowCounts[i];
      const rows = logits.slice(first, first + count);
      const lengths = sequences.slice(first, first + count).map((sequence) => sequence.length);
      first += count;
      return { logits: aggregateWindows(rows, lengths), tokens: fullLengths[i], windows: count };
    });
  }
}
