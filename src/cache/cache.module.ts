import { Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { SETTINGS } from '../config/config.module.js';
import type { Settings } from '../config/settings.js';
import { InferenceModule } from '../inference/inference.module.js';
import { InferenceService } from '../inference/inference.service.js';
import { TEXT_CLASSIFIER } from '../inference/text-classifier.js';
import type { RedisConnection } from '../redis/redis-connection.js';
import { REDIS, RedisModule } from '../redis/redis.module.js';
import { CacheStats } from './cache-stats.js';
import { createPredictionCache, type PredictionCacheParts } from './create-prediction-cache.js';
import { PredictionCache } from './prediction-cache.js';
import { PredictionCacheInterceptor } from './prediction-cache.interceptor.js';
import { PREDICTION_STORE, type PredictionStore } from './prediction-store.js';

const CACHE_PARTS = Symbol('CACHE_PARTS');

/**
 * The per-text prediction cache: `PredictionCache`, the service's TEXT_CLASSIFIER, in front of the
 * inference; `PredictionCacheInterceptor` (its HTTP edge: `X-Cache`) for the predict route;
 * `CacheStats` for metrics and health.
 */
@Module({
  imports: [RedisModule, InferenceModule],
  providers: [
    {
      provide: CACHE_PARTS,
      inject: [SETTINGS, REDIS],
      useFactory: (settings: Settings, redis: RedisConnection | null) => createPredictionCache(settings, redis),
    },
    { provide: PREDICTION_STORE, inject: [CACHE_PARTS], useFactory: (parts: PredictionCacheParts) => parts.store },
    { provide: CacheStats, inject: [CACHE_PARTS], useFactory: (parts: PredictionCacheParts) => parts.stats },
    {
      provide: PredictionCache,
      inject: [CACHE_PARTS, InferenceService],
      useFactory: (parts: PredictionCacheParts, inference: InferenceService) => parts.cacheBefore(inference),
    },
    { provide: TEXT_CLASSIFIER, useExisting: PredictionCache },
    PredictionCacheInterceptor,
  ],
  exports: [PREDICTION_STORE, CacheStats, PredictionCache, TEXT_CLASSIFIER, PredictionCacheInterceptor],
})
export class CacheModule implements OnApplicationShutdown {
  constructor(@Inject(PREDICTION_STORE) private readonly store: PredictionStore) {}

  async onApplicationShutdown(): Promise<void> {
    await this.store.close();
  }
}
