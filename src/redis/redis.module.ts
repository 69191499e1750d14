import { Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { RedisClients } from './redis-clients.js';
import type { RedisConnection } from './redis-connection.js';

/** The `cache` role's {@link RedisConnection}, or null without `REDIS_URL` (callers then keep state in memory). */
export const REDIS = Symbol('REDIS');

/**
 * Redis access with one policy: {@link RedisClients} builds every client of the process by role
 * (the cache and rate limiter's connection, provided here as {@link REDIS}; the job store's and
 * BullMQ's, asked for by the jobs module), and shutdown closes each with a deadline.
 */
@Module({
  providers: [
    RedisClients,
    { provide: REDIS, inject: [RedisClients], useFactory: (clients: RedisClients) => clients.cache() },
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
