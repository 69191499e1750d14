import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { CacheStats } from '../cache/cache-stats.js';
import type { RedisConnection } from '../redis/redis-connection.js';
import { REDIS } from '../redis/redis.module.js';

/**
 * `cache`: informational only. With the store down or Redis's circuit breaker not closed, requests
 * are served from the model, so the pod stays ready: `degraded` keeps readiness at 200 while
 * saying so. With Redis, `breaker` tells a hung Redis (open, half-open) from a lost connection.
 */
@Injectable()
export class CacheHealthIndicator {
  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly stats: CacheStats,
    @Inject(REDIS) private readonly redis: RedisConnection | null,
  ) {}

  check(): HealthIndicatorResult<'cache'> {
    const indicator = this.indicators.check('cache');
    const details = { backend: this.stats.backend, ...(this.redis && { breaker: this.redis.breakerState }) };
    return this.stats.isUp()
      ? indicator.up({ ...details, store: 'up' })
      : indicator.degraded({ ...details, store: 'down' });
  }
}
