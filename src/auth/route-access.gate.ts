import { Inject, Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ANONYMOUS_CALLER, type Caller } from '../common/caller.js';
import { SETTINGS } from '../config/config.module.js';
import type { Settings } from '../config/settings.js';
import { METRICS_UNAUTHORIZED_DETAIL, UNAUTHORIZED_DETAIL } from '../http/problem-details.js';
import { RequestLimiter } from '../rate-limit/request-limiter.js';
import { SPAN, tracer } from '../telemetry/spans.js';
import { apiKeyOf } from './api-key-credential.js';
import { ApiKeyRing } from './api-key-ring.js';
import { attachCaller, callerOf } from './caller.js';
import { KEY_RINGS, type KeyRings } from './key-rings.js';
import { routeAccessOf } from './route-access.js';
import { unauthorized } from './unauthorized.js';

const DETAILS = { 'sentiment-api': UNAUTHORIZED_DETAIL, metrics: METRICS_UNAUTHORIZED_DETAIL } as const;

/**
 * What a protected route demands, checked in an `onRequest` hook, so before the body is read:
 * first the key, then the rate limit. A stranger gets 401 without using up anyone's budget, and
 * too many 401s from one address turn into 429s. Missing and wrong keys get the same answer, so
 * it tells a caller nothing about the keys. An accepted request gets its Caller here, once.
 */
@Injectable()
export class RouteAccessGate {
  constructor(
    @Inject(KEY_RINGS) private readonly rings: KeyRings,
    @Inject(RequestLimiter) private readonly limiter: RequestLimiter,
    @Inject(SETTINGS) private readonly settings: Settings,
  ) {}

  async check(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const access = routeAccessOf(request);
    if (access === undefined) return;
    const ring: ApiKeyRing = this.rings[access.realm];
    const span = tracer.startSpan(SPAN.auth);
    const key = ring.enabled ? apiKeyOf(request.headers) : undefined;
    const accepted = !ring.enabled || ring.accepts(key);
    if (span.isRecording()) {
      // The decision and whether a key was sent; never the key.
      span.setAttributes({
        'sentiment.auth.realm': access.realm,
        'sentiment.auth.decision': !ring.enabled ? 'no-keys' : accepted ? 'accepted' : 'refused',
        ...(ring.enabled && { 'sentiment.auth.key_sent': key !== undefined }),
      });
    }
    span.end();
    if (!accepted) {
      await this.limiter.countAuthFailure(request.ip);
      throw unauthorized(access.realm, DETAILS[access.realm]);
    }
    const caller = access.realm === 'sentiment-api' ? callerOf(key, this.settings) : ANONYMOUS_CALLER;
    attachCaller(request, caller);
    if (access.rateLimited) await this.limiter.countRequest(trackerOf(caller, request.ip), reply);
  }
}

/**
 * One budget per valid key (its identity: the counters in Redis must not hold the key), per client
 * IP when keys are not configured (a "key" sent then is ignored, or a caller could dodge the limit
 * by inventing keys).
 */
function trackerOf(caller: Caller, ip: string): string {
  return caller.identity === undefined ? `ip:${ip}` : `key:${caller.identity}`;
}
