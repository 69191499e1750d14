import { Module } from '@nestjs/common';
import { SETTINGS } from '../config/config.module.js';
import { RateLimitModule } from '../rate-limit/rate-limit.module.js';
import { KEY_RINGS, keyRingsOf } from './key-rings.js';
import { RouteAccessGate } from './route-access.gate.js';

/**
 * Keys for the routes marked `@Protected` (`API_KEYS` for /v1, `METRICS_API_KEY` for /metrics) and
 * the gate that checks them and the rate limit; a realm without keys is open. The gate is installed
 * as an `onRequest` hook by createApp, after the request-target check.
 */
@Module({
  imports: [RateLimitModule],
  providers: [{ provide: KEY_RINGS, inject: [SETTINGS], useFactory: keyRingsOf }, RouteAccessGate],
  exports: [RouteAccessGate],
})
export class AuthModule {}
