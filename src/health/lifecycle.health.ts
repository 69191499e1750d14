import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { ShutdownState } from './shutdown-state.js';

/** `lifecycle`: down from the moment a shutdown signal arrives, so the pod stops getting traffic. */
@Injectable()
export class LifecycleHealthIndicator {
  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly shutdown: ShutdownState,
  ) {}

  check(): HealthIndicatorResult<'lifecycle'> {
    const indicator = this.indicators.check('lifecycle');
    return this.shutdown.shuttingDown ? indicator.down({ state: 'draining' }) : indicator.up({ state: 'serving' });
  }
}
