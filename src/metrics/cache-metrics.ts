import { Injectable, type OnModuleInit } from '@nestjs/common';
import type { Histogram } from 'prom-client';
import { CacheStats } from '../cache/cache-stats.js';
import { traceExemplar } from './exemplars.js';
import { METRIC } from './metric-names.js';
import { InjectMetric } from './metrics-registry.js';

/** Times every call to the cache store, from the cache's operation hook. */
@Injectable()
export class CacheMetrics implements OnModuleInit {
  constructor(
    private readonly stats: CacheStats,
    @InjectMetric(METRIC.cacheOperationDuration) private readonly duration: Histogram,
  ) {}

  onModuleInit(): void {
    this.stats.onOperation((operation, seconds) =>
      this.duration.observe({ labels: { operation }, value: seconds, exemplarLabels: traceExemplar() }),
    );
  }
}
