import { Injectable } from '@nestjs/common';
import type { HealthIndicatorResult } from '@nestjs/terminus';
import { CacheHealthIndicator } from './cache.health.js';
import { LifecycleHealthIndicator } from './lifecycle.health.js';
import { ModelHealthIndicator } from './model.health.js';

/**
 * The one rule for "should this pod get traffic", read by GET /health/ready and the ready gauge:
 * the model is loaded and no shutdown has begun. The cache is reported but never decides.
 */
@Injectable()
export class Readiness {
  constructor(
    private readonly model: ModelHealthIndicator,
    private readonly lifecycle: LifecycleHealthIndicator,
    private readonly cache: CacheHealthIndicator,
  ) {}

  /** The indicators the probe reports; `cache` is at worst `degraded`, never `down`. */
  checks(): (() => HealthIndicatorResult)[] {
    return [() => this.model.check(), () => this.lifecycle.check(), () => this.cache.check()];
  }

  /** Terminus's verdict on `checks()`: ready unless an indicator is down. */
  get ready(): boolean {
    return this.checks().every((check) => Object.values(check()).every(({ status }) => status !== 'down'));
  }
}
