import { DynamicModule, Module } from '@nestjs/common';
import { AuthModule } from './auth/auth.module.js';
import { CacheModule } from './cache/cache.module.js';
import { ConfigModule } from './config/config.module.js';
import type { Settings } from './config/settings.js';
import { HealthModule } from './health/health.module.js';
import { JobsModule } from './jobs/jobs.module.js';
import { MetricsModule } from './metrics/metrics.module.js';
import { ModelModule } from './model/model.module.js';
import { RateLimitModule } from './rate-limit/rate-limit.module.js';
import { SentimentModule } from './sentiment/sentiment.module.js';

@Module({})
export class AppModule {
  static forRoot(settings: Settings): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(settings),
        AuthModule,
        RateLimitModule,
        ModelModule,
        CacheModule,
        SentimentModule,
        JobsModule.forRoot(settings),
        HealthModule,
        MetricsModule,
      ],
    };
  }
}
