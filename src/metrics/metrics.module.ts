import { Module, type OnModuleDestroy } from '@nestjs/common';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { register } from 'prom-client';
import { CacheModule } from '../cache/cache.module.js';
import { HealthModule } from '../health/health.module.js';
import { InferenceModule } from '../inference/inference.module.js';
import { ModelModule } from '../model/model.module.js';
import { RedisModule } from '../redis/redis.module.js';
import { CacheMetrics } from './cache-metrics.js';
import { HttpMetrics } from './http-metrics.js';
import { InferenceMetrics } from './inference-metrics.js';
import { METRIC, METRICS_PATH } from './metric-names.js';
import { METRIC_PROVIDERS } from './metric-providers.js';
import { MetricsController } from './metrics.controller.js';
import { collectProcessMetricsOnce } from './process-metrics.js';

@Module({
  imports: [
    PrometheusModule.register({
      path: METRICS_PATH,
      controller: MetricsController,
      // Registered by collectProcessMetricsOnce instead: the library would register them once per app.
      defaultMetrics: { enabled: false },
    }),
    ModelModule,
    CacheModule,
    InferenceModule,
    HealthModule,
    RedisModule,
  ],
  providers: [...METRIC_PROVIDERS, HttpMetrics, InferenceMetrics, CacheMetrics],
})
export class MetricsModule implements OnModuleDestroy {
  constructor() {
    collectProcessMetricsOnce();
  }

  /**
   * The library keeps metrics in prom-client's process-wide registry and reuses one found there by
   * name; forgetting this app's metrics when it closes lets a later app in the same process (tests)
   * start from zero, with scrape-time values read from that app's model and cache.
   */
  onModuleDestroy(): void {
    for (const name of Object.values(METRIC)) register.removeSingleMetric(name);
  }
}
