import type { Settings } from '../config/settings.js';
import type { TextClassifier } from '../inference/text-classifier.js';
import type { RedisConnection } from '../redis/redis-connection.js';
import { PredictionKeys } from './cache-keys.js';
import { CacheStats } from './cache-stats.js';
import { GuardedStore } from './guarded-store.js';
import { MemoryPredictionStore } from './memory-prediction-store.js';
import { PredictionCache } from './prediction-cache.js';
import type { PredictionStore } from './prediction-store.js';
import { RedisPredictionStore } from './redis-prediction-store.js';

export interface PredictionCacheParts {
  store: PredictionStore;
  stats: CacheStats;
  /** The prediction cache in front of `next`. */
  cacheBefore(next: TextClassifier): PredictionCache;
}

/** Redis when the shared connection exists (`REDIS_URL`), else the in-memory LRU. */
export function createPredictionCache(settings: Settings, redis: RedisConnection | null): PredictionCacheParts {
  const store: PredictionStore = redis
    ? new RedisPredictionStore(redis)
    : new MemoryPredictionStore(settings.cacheMaxEntries);
  const stats = new CacheStats(store.backend, () => store.isUp());
  const guarded = new GuardedStore(store, stats);
  const keys = new PredictionKeys(settings.cacheKeySecret);
  return {
    store,
    stats,
    cacheBefore: (next) => new PredictionCache(guarded, keys, stats, settings.cacheTtlSeconds, next),
  };
}
