import { Injectable, type OnModuleInit } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { Histogram } from 'prom-client';
import { CacheStats } from '../cache/cache-stats.js';
import { traceExemplar } from './exemplars.js';
import { METRIC } from './metric-names.js';

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
