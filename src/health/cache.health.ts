import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { CacheStats } from '../cache/cache-stats.js';

/**
 * `cache`: informational only. With the store down, requests are served from the model, so the
 * pod stays ready: `degraded` keeps readiness at 200 while saying so.
 */
@Injectable()
export class CacheHealthIndicator {
  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly stats: CacheStats,
  ) {}

  check(): HealthIndicatorResult<'cache'> {
    const indicator = this.indicators.check('cache');
    const backend = this.stats.backend;
    return this.stats.isUp() ? indicator.up({ backend, store: 'up' }) : indicator.degraded({ backend, store: 'down' });
  }
}
