import type { Attributes, Span } from '@opentelemetry/api';
import type { Caller } from '../common/caller.js';
import { atPositionsAmong, checkReadLimits } from '../inference/read-limits.js';
import type { Classified, ReadOptions, TextClassifier, TextSource } from '../inference/text-classifier.js';
import type { ModelOutput } from '../model/label-scores.js';
import { recordFailure, SPAN, tracer, withSpan } from '../telemetry/spans.js';
import type { PredictionKeys } from './cache-keys.js';
import type { CacheStats } from './cache-stats.js';
import type { Guarded, GuardedStore } from './guarded-store.js';
import { decodeOutput, encodeOutput } from './prediction-codec.js';
import type { CacheBackend } from './prediction-store.js';

/** The `X-Cache` answer: all texts cached, none, some, or the cache was not usable. */
export type CacheStatus = 'HIT' | 'MISS' | 'PARTIAL' | 'BYPASS';

/** The `X-Cache` answer of a request whose texts came from `sources`. */
export function cacheStatusOf(sources: readonly TextSource[]): CacheStatus {
  if (sources.some((source) => source === 'bypass')) return 'BYPASS';
  const hits = sources.filter((source) => source === 'hit').length;
  return hits === sources.length ? 'HIT' : hits === 0 ? 'MISS' : 'PARTIAL';
}

/**
 * Per-text cache of the model's outputs, a decorator in front of the next classifier (the
 * scheduler and the model): looks every distinct text up in one call, checks the texts it holds
 * against the request's limits, passes only the misses on (each once, however often it repeats),
 * writes them back in one call, and answers in request order. Store trouble never fails a request:
 * it is served from the model (BYPASS).
 */
export class PredictionCache implements TextClassifier {
  constructor(
    private readonly store: GuardedStore,
    private readonly keys: PredictionKeys,
    private readonly stats: CacheStats,
    readonly ttlSeconds: number,
    private readonly next: TextClassifier,
  ) {}

  get backend(): CacheBackend {
    return this.stats.backend;
  }

  async classify(texts: readonly string[], caller: Caller, options: ReadOptions): Promise<Classified> {
    const { model, truncation, chunk } = options;
    const lookupSpan = tracer.startSpan(SPAN.cacheLookup);
    const distinct = [...new Set(texts)];
    const keys = distinct.map((text) =>
      this.keys.keyFor(model.fingerprint, text, caller.cacheScope, truncation, chunk?.stridePercent),
    );
    const lookup = await withSpan(lookupSpan, () => this.store.getMany(keys));
    if (lookup.status !== 'ok') {
      endStoreSpan(lookupSpan, this.backend, lookup.status, { 'sentiment.cache.texts': distinct.length });
      this.stats.count(lookup.status === 'skipped' ? 'bypass' : 'error', distinct.length);
      const computed = await this.compute(distinct, texts, caller, options);
      const byText = new Map(distinct.map((text, i) => [text, computed[i]]));
      return { outputs: texts.map((text) => byText.get(text)!), sources: texts.map(() => 'bypass') };
    }

    const byText = new Map<string, { output: ModelOutput; source: TextSource }>();
    const held: string[] = [];
    const missing: number[] = [];
    distinct.forEach((text, i) => {
      const cached = decodeOutput(lookup.value[i], model.labels.length, chunk !== undefined);
      if (cached) {
        byText.set(text, { output: cached, source: 'hit' });
        held.push(text);
      } else missing.push(i);
    });
    endStoreSpan(lookupSpan, this.backend, 'ok', {
      'sentiment.cache.texts': distinct.length,
      'sentiment.cache.hits': held.length,
      'sentiment.cache.misses': missing.length,
    });
    this.stats.count('hit', held.length);
    this.stats.count('miss', missing.length);
    // What the cache holds is checked here, against the counts stored with it, so an answer does
    // not depend on what the cache holds; the misses once tokenized, which also checks a request's
    // window total, what the cache holds included.
    const heldOutputs = held.map((text) => byText.get(text)!.output);
    try {
      checkReadLimits(heldOutputs, missing.length === 0 ? options : withoutWindowTotal(options));
    } catch (error) {
      throw atPositionsAmong(error, held, texts);
    }

    if (missing.length > 0) {
      const heldWindows = chunk ? heldOutputs.reduce((sum, output) => sum + (output.windows ?? 1), 0) : 0;
      const computed = await this.compute(
        missing.map((i) => distinct[i]),
        texts,
        caller,
        withWindowsSpent(options, heldWindows),
        heldWindows,
      );
      missing.forEach((i, j) => byText.set(distinct[i], { output: computed[j], source: 'miss' }));
      // A failed write costs only a future miss; the guarded store has counted it.
      const writeSpan = tracer.startSpan(SPAN.cacheWrite);
      const write = await withSpan(writeSpan, () =>
        this.store.setMany(
          missing.map((i, j) => [keys[i], encodeOutput(computed[j])] as const),
          this.ttlSeconds,
        ),
      );
      endStoreSpan(writeSpan, this.backend, write.status, { 'sentiment.cache.entries': missing.length });
    }
    const answers = texts.map((text) => byText.get(text)!);
    return { outputs: answers.map((a) => a.output), sources: answers.map((a) => a.source) };
  }

  /** The next classifier's outputs for `missing`, its limit errors at their positions among `texts`. */
  private async compute(
    missing: string[],
    texts: readonly string[],
    caller: Caller,
    options: ReadOptions,
    windowsBefore = 0,
  ): Promise<ModelOutput[]> {
    let outputs: ModelOutput[];
    try {
      ({ outputs } = await this.next.classify(missing, caller, options));
    } catch (error) {
      throw atPositionsAmong(error, missing, texts, windowsBefore);
    }
    if (outputs.length !== missing.length) {
      throw new Error(`expected ${missing.length} outputs for the cache misses, got ${outputs.length}`);
    }
    return outputs;
  }
}

/** The options without a request's window total, checked with its misses. */
function withoutWindowTotal(options: ReadOptions): ReadOptions {
  const { chunk } = options;
  return chunk?.maxWindowsPerRequest === undefined
    ? options
    : { ...options, chunk: { ...chunk, maxWindowsPerRequest: undefined } };
}

/**
 * The options for the misses of a request whose cached texts already take `windows` of its window
 * budget (none may be left: the misses are then refused once tokenized, with the request's total).
 */
function withWindowsSpent(options: ReadOptions, windows: number): ReadOptions {
  const { chunk } = options;
  if (chunk?.maxWindowsPerRequest === undefined || windows === 0) return options;
  return { ...options, chunk: { ...chunk, maxWindowsPerRequest: chunk.maxWindowsPerRequest - windows } };
}

/**
 * Ends a lookup's or write's span with its counts. A failed store call is the step's failure (the
 * request is served anyway); a skipped one (Redis known down) is an outcome.
 */
function endStoreSpan(
  span: Span,
  backend: CacheBackend,
  outcome: Guarded<unknown>['status'],
  counts: Attributes,
): void {
  if (span.isRecording()) {
    span.setAttributes({ 'sentiment.cache.backend': backend, 'sentiment.cache.outcome': outcome, ...counts });
    if (outcome === 'failed')
      recordFailure(span, new Error(`the ${backend} cache store call failed`), 'cache-store-failed');
  }
  span.end();
}
