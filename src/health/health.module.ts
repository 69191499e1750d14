import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { CacheModule } from '../cache/cache.module.js';
import { ModelModule } from '../model/model.module.js';
import { RedisModule } from '../redis/redis.module.js';
import { CacheHealthIndicator } from './cache.health.js';
import { ConnectionDraining } from './connection-draining.js';
import { HealthController } from './health.controller.js';
import { LegacyHealthController } from './legacy-health.controller.js';
import { LifecycleHealthIndicator } from './lifecycle.health.js';
import { ModelHealthIndicator } from './model.health.js';
import { Readiness } from './readiness.js';
import { ShutdownState } from './shutdown-state.js';

@Module({
  // Terminus would log every failed readiness check as an error, i.e. every probe while the model loads.
  imports: [TerminusModule.forRoot({ logger: false }), ModelModule, CacheModule, RedisModule],
  controllers: [HealthController, LegacyHealthController],
  providers: [
    ShutdownState,
    Readiness,
    ModelHealthIndicator,
    LifecycleHealthIndicator,
    CacheHealthIndicator,
    ConnectionDraining,
  ],
  exports: [ShutdownState, Readiness],
})
export class HealthModule {}
