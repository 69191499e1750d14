import { Module } from '@nestjs/common';
import { getStorageToken, ThrottlerStorageService } from '@nestjs/throttler';
import type { RedisConnection } from '../redis/redis-connection.js';
import { REDIS, RedisModule } from '../redis/redis.module.js';
import { RedisThrottlerStorage } from './redis-throttler-storage.js';
import { RequestLimiter } from './request-limiter.js';

/**
 * Request budgets per API key (per IP without keys) and failed-key budgets per IP, counted in Redis
 * when `REDIS_URL` is set so replicas share one limit. Which routes are counted is decided by the
 * route access gate (src/auth), from the matched route.
 */
@Module({
  imports: [RedisModule],
  providers: [
    {
      provide: getStorageToken(),
      inject: [REDIS],
      useFactory: (redis: RedisConnection | null) =>
        redis ? new RedisThrottlerStorage(redis) : new ThrottlerStorageService(),
    },
    RequestLimiter,
  ],
  exports: [RequestLimiter],
})
export class RateLimitModule {}
