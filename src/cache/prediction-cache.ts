import type { Prediction } from '../model/label-scores.js';
import type { PredictionKeys } from './cache-keys.js';
import type { CacheStats } from './cache-stats.js';
import type { GuardedStore } from './guarded-store.js';
import { decodeScores, encodeScores } from './prediction-codec.js';
import type { CacheBackend } from './prediction-store.js';

/** The `X-Cache` answer: all texts cached, none, some, or the cache was not usable. */
export type CacheStatus = 'HIT' | 'MISS' | 'PARTIAL' | 'BYPASS';

/** What the cache needs to know about the model that answers. */
export interface CachedModel {
  fingerprint: string;
  labels: readonly string[];
}

/** Computes predictions for texts the cache does not hold, one per text, in order. */
export type ComputePredictions = (texts: string[]) => Promise<Prediction[]>;

export interface CachedAnswer {
  /** One prediction per requested text, in request order. */
  predictions: Prediction[];
  status: CacheStatus;
}

/**
 * Per-text prediction cache: looks every distinct text up in one call, computes only the
 * misses (each once, however often it repeats), writes them back in one call, and answers in
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

  /** `tenant` (from `tenantOf`): entries of its own, which no other tenant reads; undefined = shared. */
  async predict(
    texts: readonly string[],
    model: CachedModel,
    compute: ComputePredictions,
    tenant?: string,
  ): Promise<CachedAnswer> {
    const distinct = [...new Set(texts)];
    const keys = distinct.map((text) => this.keys.keyFor(model.fingerprint, text, tenant));
    const lookup = await this.store.getMany(keys);
    if (lookup.status !== 'ok') {
      this.stats.count(lookup.status === 'skipped' ? 'bypass' : 'error', distinct.length);
      const computed = await computeChecked(compute, distinct);
      const byText = new Map(distinct.map((text, i) => [text, computed[i]]));
      return { predictions: texts.map((text) => byText.get(text)!), status: 'BYPASS' };
    }

    const byText = new Map<string, Prediction>();
    const missing: number[] = [];
    distinct.forEach((text, i) => {
      const cached = decodeScores(lookup.value[i], model.labels);
      if (cached) byText.set(text, cached);
      else missing.push(i);
    });
    const hits = distinct.length - missing.length;
    this.stats.count('hit', hits);
    this.stats.count('miss', missing.length);

    if (missing.length > 0) {
      const computed = await computeChecked(
        compute,
        missing.map((i) => distinct[i]),
      );
      missing.forEach((i, j) => byText.set(distinct[i], computed[j]));
      // A failed write costs only a future miss; the guarded store has counted it.
      await this.store.setMany(
        missing.map((i, j) => [keys[i], encodeScores(computed[j], model.labels)] as const),
        this.ttlSeconds,
      );
    }
    const status: CacheStatus = missing.length === 0 ? 'HIT' : hits === 0 ? 'MISS' : 'PARTIAL';
    return { predictions: texts.map((text) => byText.get(text)!), status };
  }
}

async function computeChecked(compute: ComputePredictions, texts: string[]): Promise<Prediction[]> {
  const predictions = await compute(texts);
  if (predictions.length !== texts.length) {
    throw new Error(`expected ${texts.length} predictions for the cache misses, got ${predictions.length}`);
  }
  return predictions;
}
