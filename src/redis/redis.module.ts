import { Inject, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import { SETTINGS } from '../config/config.module.js';
import type { Settings } from '../config/settings.js';
import { createRedisClient } from './redis-client.js';
import { BREAKER_DEFAULTS, RedisConnection } from './redis-connection.js';

/** The shared {@link RedisConnection}, or null without `REDIS_URL` (callers then keep state in memory). */
export const REDIS = Symbol('REDIS');

/**
 * One Redis connection for the whole process (`REDIS_URL`), with its timeout (`CACHE_TIMEOUT_MS`)
 * and circuit breaker, used by the prediction cache and the rate limiter alike.
 */
@Module({
  providers: [
    {
      provide: REDIS,
      inject: [SETTINGS],
      useFactory: (settings: Settings): RedisConnection | null =>
        settings.redisUrl
          ? new RedisConnection(createRedisClient(settings.redisUrl, new Logger('Redis')), {
              timeoutMs: settings.cacheTimeoutMs,
              ...BREAKER_DEFAULTS,
            })
          : null,
    },
  ],
  exports: [REDIS],
})
export class RedisModule implements OnApplicationShutdown {
  constructor(@Inject(REDIS) private readonly redis: RedisConnection | null) {}

  async onApplicationShutdown(): Promise<void> {
    await this.redis?.close();
  }
}
