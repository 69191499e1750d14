import { Inject, Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { createHash } from 'node:crypto';
import { METRICS_UNAUTHORIZED_DETAIL, UNAUTHORIZED_DETAIL } from '../http/problem-details.js';
import { RequestLimiter } from '../rate-limit/request-limiter.js';
import { SPAN, tracer } from '../telemetry/spans.js';
import { apiKeyOf } from './api-key-credential.js';
import { ApiKeyRing } from './api-key-ring.js';
import { KEY_RINGS, type KeyRings } from './key-rings.js';
import { routeAccessOf } from './route-access.js';
import { unauthorized } from './unauthorized.js';

const DETAILS = { 'sentiment-api': UNAUTHORIZED_DETAIL, metrics: METRICS_UNAUTHORIZED_DETAIL } as const;

/**
 * What a protected route demands, checked in an `onRequest` hook, so before the body is read:
 * first the key, then the rate limit. A stranger gets 401 without using up anyone's budget, and
 * too many 401s from one address turn into 429s. Missing and wrong keys get the same answer, so
 * it tells a caller nothing about the keys.
 */
@Injectable()
export class RouteAccessGate {
  constructor(
    @Inject(KEY_RINGS) private readonly rings: KeyRings,
    @Inject(RequestLimiter) private readonly limiter: RequestLimiter,
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
    if (access.rateLimited) await this.limiter.countRequest(trackerOf(key, request.ip), reply);
  }
}

/**
 * One budget per valid key, per client IP when keys are not configured (a "key" sent then is
 * ignored, or a caller could dodge the limit by inventing keys). The key is hashed: the counters
 * in Redis must not hold it.
 */
function trackerOf(validKey: string | undefined, ip: string): string {
  if (validKey === undefined) return `ip:${ip}`;
  return `key:${createHash('sha256').update(validKey).digest('hex')}`;
}
