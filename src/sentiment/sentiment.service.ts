import { Inject, Injectable } from '@nestjs/common';
import { tenantOf } from '../auth/tenant.js';
import { PredictionCache, type CacheStatus } from '../cache/prediction-cache.js';
import { SETTINGS } from '../config/config.module.js';
import type { Settings } from '../config/settings.js';
import { InferenceService } from '../inference/inference.service.js';
import type { Prediction } from '../model/label-scores.js';
import { SentimentModel } from '../model/sentiment-model.service.js';
import type { ModelInfoDto } from './dto/model-info.dto.js';

/** What the predict route answers (the model's name and one prediction per text), and how the cache served it. */
export interface PredictOutcome {
  model: string;
  predictions: Prediction[];
  cacheStatus: CacheStatus;
}

/** Who is asking, for fairness and isolation, and whether they are still there. */
export interface PredictContext {
  /** The caller's API key, already checked at the edge; undefined without one. */
  apiKey?: string;
  /**
   * A signal aborted when the client hangs up; asked for only when texts go to the model, so a
   * request answered from the cache costs no AbortController (a few % of the hit path's CPU).
   */
  clientGone?: () => AbortSignal;
}

/** Whose job a chunk belongs to, as stored with the job (never the API key itself). */
export interface BulkOwner {
  /** The cache scope of the key (`tenantOf`); undefined when entries are shared. */
  cacheTenant?: string;
  /** The key's fairness flow. */
  flow?: string;
}

export interface BulkOutcome {
  predictions: Prediction[];
  /** Distinct texts answered from the cache. */
  cacheHits: number;
}

@Injectable()
export class SentimentService {
  constructor(
    private readonly model: SentimentModel,
    private readonly inference: InferenceService,
    private readonly cache: PredictionCache,
    @Inject(SETTINGS) private readonly settings: Settings,
  ) {}

  /** Cached texts are answered from the cache; the rest go through the scheduler to the model. */
  async predict(texts: readonly string[], context: PredictContext = {}): Promise<PredictOutcome> {
    const info = this.model.requireInfo();
    // Cache entries and coalesced texts are per tenant unless CACHE_SCOPE=shared; model time is
    // shared fairly between API keys whatever the cache scope (between requests without keys).
    const tenant = tenantOf(context.apiKey, this.settings);
    const { predictions, status } = await this.cache.predict(
      texts,
      info,
      (misses) => {
        // Only texts going to the model need a flow; under the default scope it is the tenant.
        const flow =
          this.settings.cacheScope === 'tenant'
            ? tenant
            : tenantOf(context.apiKey, { ...this.settings, cacheScope: 'tenant' });
        return this.inference.classify(misses, { flow, scope: tenant, signal: context.clientGone?.() });
      },
      tenant,
    );
    return { model: info.name, predictions, cacheStatus: status };
  }

  /**
   * A job chunk's texts, for whoever owns the job: the same cache entries and model as the predict
   * route (so the same answers), but at bulk priority, which only fills idle model time. Also counts
   * the distinct texts the cache answered.
   */
  async predictBulk(texts: readonly string[], owner: BulkOwner, signal?: AbortSignal): Promise<BulkOutcome> {
    const info = this.model.requireInfo();
    let computed = 0;
    const { predictions, status } = await this.cache.predict(
      texts,
      info,
      (misses) => {
        computed = misses.length;
        return this.inference.classify(misses, {
          flow: owner.flow,
          scope: owner.cacheTenant,
          signal,
          priority: 'bulk',
        });
      },
      owner.cacheTenant,
    );
    const cacheHits = status === 'BYPASS' ? 0 : new Set(texts).size - computed;
    return { predictions, cacheHits };
  }

  modelInfo(): ModelInfoDto {
    const { id, name, source, fingerprint, labels, dtype, maxSequenceLength, backend, threads, loadTimeMs } =
      this.model.requireInfo();
    const { maxBatchSize, maxTextChars } = this.settings;
    return {
      id,
      name,
      source,
      fingerprint,
      labels,
      dtype,
      maxSequenceLength,
      maxBatchSize,
      maxTextChars,
      backend,
      threads,
      loadTimeMs,
      cache: { backend: this.cache.backend, ttlSeconds: this.cache.ttlSeconds },
    };
  }
}
