import type { Settings } from '../config/settings.js';
import { PredictionKeys } from './cache-keys.js';
import { CacheStats } from './cache-stats.js';
import { CircuitBreaker } from './circuit-breaker.js';
import { GuardedStore } from './guarded-store.js';
import { MemoryPredictionStore } from './memory-prediction-store.js';
import { PredictionCache } from './prediction-cache.js';
import type { PredictionStore } from './prediction-store.js';
import { RedisPredictionStore } from './redis-prediction-store.js';

/**
 * Three failed calls in a row mean Redis is in trouble; then one probe a second finds out when
 * it is back, while every other request skips it.
 */
const BREAKER = { failureThreshold: 3, openMs: 1000 };

export interface PredictionCacheParts {
  store: PredictionStore;
  stats: CacheStats;
  cache: PredictionCache;
}

/** Redis when `REDIS_URL` is set, else the in-memory LRU; both behind the same guards. */
export function createPredictionCache(settings: Settings): PredictionCacheParts {
  const store: PredictionStore = settings.redisUrl
    ? new RedisPredictionStore(settings.redisUrl)
    : new MemoryPredictionStore(settings.cacheMaxEntries);
  const breaker = new CircuitBreaker(BREAKER);
  const stats = new CacheStats(store.backend, () => store.isUp() && breaker.state !== 'open');
  const guarded = new GuardedStore(store, breaker, settings.cacheTimeoutMs, stats);
  const keys = new PredictionKeys(settings.cacheKeySecret);
  return { store, stats, cache: new PredictionCache(guarded, keys, stats, settings.cacheTtlSeconds) };
}
