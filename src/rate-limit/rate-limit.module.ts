import { Module } from '@nestjs/common';
import { getStorageToken, ThrottlerStorageService } from '@nestjs/throttler';
import { SETTINGS } from '../config/config.module.js';
import type { Settings } from '../config/settings.js';
import { RedisThrottlerStorage } from './redis-throttler-storage.js';
import { RequestLimiter } from './request-limiter.js';

/** Longest wait for a Redis count; a request may also wait up to CACHE_TIMEOUT_MS on the cache. */
const REDIS_TIMEOUT_MS = 20;

/**
 * Request budgets per API key (per IP without keys) and failed-key budgets per IP, counted in Redis
 * when `REDIS_URL` is set so replicas share one limit. Which routes are counted is decided by the
 * route access gate (src/auth), from the matched route.
 */
@Module({
  providers: [
    {
      provide: getStorageToken(),
      inject: [SETTINGS],
      useFactory: (settings: Settings) =>
        settings.redisUrl
          ? new RedisThrottlerStorage(settings.redisUrl, Math.min(settings.cacheTimeoutMs, REDIS_TIMEOUT_MS))
          : new ThrottlerStorageService(),
    },
    RequestLimiter,
  ],
  exports: [RequestLimiter],
})
export class RateLimitModule {}
