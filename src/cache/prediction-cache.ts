import type { Attributes, Span } from '@opentelemetry/api';
import type { ModelOutput } from '../model/label-scores.js';
import { recordFailure, SPAN, tracer, withSpan } from '../telemetry/spans.js';
import type { TruncationSide } from '../model/token-sequences.js';
import type { PredictionKeys } from './cache-keys.js';
import type { CacheStats } from './cache-stats.js';
import type { Guarded, GuardedStore } from './guarded-store.js';
import { decodeOutput, encodeOutput } from './prediction-codec.js';
import type { CacheBackend } from './prediction-store.js';

/** The `X-Cache` answer: all texts cached, none, some, or the cache was not usable. */
export type CacheStatus = 'HIT' | 'MISS' | 'PARTIAL' | 'BYPASS';

/** Where one text's answer came from. */
export type TextSource = 'hit' | 'miss' | 'bypass';

/** What the cache needs to know about the model that answers. */
export interface CachedModel {
  fingerprint: string;
  labels: readonly string[];
}

/** Which entries a request reads and writes. */
export interface CacheScope {
  /** From `tenantOf`: entries of its own, which no other tenant reads; undefined = shared. */
  tenant?: string;
  /** Texts cut from the left have entries of their own. */
  truncation?: TruncationSide;
}

/** Computes the model's output for texts the cache does not hold, one per text, in order. */
export type ComputeOutputs = (texts: string[]) => Promise<ModelOutput[]>;

export interface CachedAnswer {
  /** One output per requested text, in request order. */
  outputs: ModelOutput[];
  /** `sources[i]`: where `outputs[i]` came from. */
  sources: TextSource[];
  status: CacheStatus;
}

/**
 * Per-text cache of the model's outputs: looks every distinct text up in one call, computes only
 * the misses (each once, however often it repeats), writes them back in one call, and answers in
 * request order. Store trouble never fails a request: it is served from the model (BYPASS).
 */
export class PredictionCache {
  constructor(
    private readonly store: GuardedStore,
    private readonly keys: PredictionKeys,
    private readonly stats: CacheStats,
    readonly ttlSeconds: number,
  ) {}

  get backend(): CacheBackend {
    return this.stats.backend;
  }

  async predict(
    texts: readonly string[],
    model: CachedModel,
    compute: ComputeOutputs,
    { tenant, truncation }: CacheScope = {},
  ): Promise<CachedAnswer> {
    const lookupSpan = tracer.startSpan(SPAN.cacheLookup);
    const distinct = [...new Set(texts)];
    const keys = distinct.map((text) => this.keys.keyFor(model.fingerprint, text, tenant, truncation));
    const lookup = await withSpan(lookupSpan, () => this.store.getMany(keys));
    if (lookup.status !== 'ok') {
      endStoreSpan(lookupSpan, this.backend, lookup.status, { 'sentiment.cache.texts': distinct.length });
      this.stats.count(lookup.status === 'skipped' ? 'bypass' : 'error', distinct.length);
      const computed = await computeChecked(compute, distinct);
      const byText = new Map(distinct.map((text, i) => [text, computed[i]]));
      return {
        outputs: texts.map((text) => byText.get(text)!),
        sources: texts.map(() => 'bypass'),
        status: 'BYPASS',
      };
    }

    const byText = new Map<string, { output: ModelOutput; source: TextSource }>();
    const missing: number[] = [];
    distinct.forEach((text, i) => {
      const cached = decodeOutput(lookup.value[i], model.labels.length);
      if (cached) byText.set(text, { output: cached, source: 'hit' });
      else missing.push(i);
    });
    const hits = distinct.length - missing.length;
    endStoreSpan(lookupSpan, this.backend, 'ok', {
      'sentiment.cache.texts': distinct.length,
      'sentiment.cache.hits': hits,
      'sentiment.cache.misses': missing.length,
    });
    this.stats.count('hit', hits);
    this.stats.count('miss', missing.length);

    if (missing.length > 0) {
      const computed = await computeChecked(
        compute,
        missing.map((i) => distinct[i]),
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
    const status: CacheStatus = missing.length === 0 ? 'HIT' : hits === 0 ? 'MISS' : 'PARTIAL';
    const answers = texts.map((text) => byText.get(text)!);
    return { outputs: answers.map((a) => a.output), sources: answers.map((a) => a.source), status };
  }
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

async function computeChecked(compute: ComputeOutputs, texts: string[]): Promise<ModelOutput[]> {
  const outputs = await compute(texts);
  if (outputs.length !== texts.length) {
    throw new Error(`expected ${texts.length} outputs for the cache misses, got ${outputs.length}`);
  }
  return outputs;
}
