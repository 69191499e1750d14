import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import {
  getOptionsToken,
  getStorageToken,
  ThrottlerStorageService,
  type ThrottlerModuleOptions,
} from '@nestjs/throttler';
import { AuthModule } from '../auth/auth.module.js';
import { SETTINGS } from '../config/config.module.js';
import type { Settings } from '../config/settings.js';
import type { RedisConnection } from '../redis/redis-connection.js';
import { REDIS, RedisModule } from '../redis/redis.module.js';
import { ApiRateLimitGuard } from './api-rate-limit.guard.js';
import { RedisThrottlerStorage } from './redis-throttler-storage.js';

const MINUTE_MS = 60_000;

/**
 * Requests per minute per API key (per IP without keys) on /v1 (`RATE_LIMIT_PER_MINUTE`), counted
 * in Redis when `REDIS_URL` is set so replicas share one limit. Import after AuthModule: guards run
 * in registration order, and a stranger must get 401 rather than use up a budget.
 */
@Module({
  imports: [AuthModule, RedisModule],
  providers: [
    {
      provide: getOptionsToken(),
      inject: [SETTINGS],
      useFactory: (settings: Settings): ThrottlerModuleOptions => ({
        throttlers: [{ name: 'default', ttl: MINUTE_MS, limit: settings.rateLimitPerMinute }],
        skipIf: () => !settings.rateLimitEnabled,
      }),
    },
    {
      provide: getStorageToken(),
      inject: [REDIS],
      useFactory: (redis: RedisConnection | null) =>
        redis ? new RedisThrottlerStorage(redis) : new ThrottlerStorageService(),
    },
    { provide: APP_GUARD, useClass: ApiRateLimitGuard },
  ],
})
export class RateLimitModule {}
