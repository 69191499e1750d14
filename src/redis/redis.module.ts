import { Inject, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import { SETTINGS } from '../config/config.module.js';
import type { Settings } from '../config/settings.js';
import { createRedisClient } from './redis-client.js';
import { RedisClients } from './redis-clients.js';
import { BREAKER_DEFAULTS, RedisConnection } from './redis-connection.js';
import { cacheRedisEndpoint } from './redis-endpoint.js';

/** The shared {@link RedisConnection}, or null without `REDIS_URL` (callers then keep state in memory). */
export const REDIS = Symbol('REDIS');

/**
 * One Redis connection for the whole process (`REDIS_URL`), with its timeout (`CACHE_TIMEOUT_MS`)
 * and circuit breaker, used by the prediction cache and the rate limiter alike; and the registry of
 * every Redis client (the jobs module's too), which shutdown closes with a deadline.
 */
@Module({
  providers: [
    RedisClients,
    {
      provide: REDIS,
      inject: [SETTINGS, RedisClients],
      useFactory: (settings: Settings, clients: RedisClients): RedisConnection | null => {
        const endpoint = cacheRedisEndpoint(settings);
        if (!endpoint) return null;
        const client = clients.nodeRedis('cache', createRedisClient(endpoint, new Logger('Redis')));
        return new RedisConnection(client, { timeoutMs: settings.cacheTimeoutMs, ...BREAKER_DEFAULTS });
      },
    },
  ],
  exports: [REDIS, RedisClients],
})
export class RedisModule implements OnApplicationShutdown {
  constructor(
    @Inject(REDIS) private readonly redis: RedisConnection | null,
    private readonly clients: RedisClients,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    const redis = this.redis;
    if (redis) await this.clients.close('cache', () => redis.close());
  }
}
