import { Module } from '@nestjs/common';
import { CacheModule } from '../cache/cache.module.js';
import { HealthModule } from '../health/health.module.js';
import { InferenceModule } from '../inference/inference.module.js';
import { ModelModule } from '../model/model.module.js';
import { RedisModule } from '../redis/redis.module.js';
import { CacheMetrics } from './cache-metrics.js';
import { HttpMetrics } from './http-metrics.js';
import { InferenceMetrics } from './inference-metrics.js';
import { METRIC_PROVIDERS } from './metric-providers.js';
import { MetricsController } from './metrics.controller.js';
import { MetricsRegistryModule } from './metrics-registry.js';

@Module({
  imports: [MetricsRegistryModule, ModelModule, CacheModule, InferenceModule, HealthModule, RedisModule],
  controllers: [MetricsController],
  providers: [...METRIC_PROVIDERS, HttpMetrics, InferenceMetrics, CacheMetrics],
})
export class MetricsModule {}
