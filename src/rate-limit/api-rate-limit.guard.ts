import { Inject, Injectable, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  InjectThrottlerOptions,
  InjectThrottlerStorage,
  ThrottlerGuard,
  type ThrottlerLimitDetail,
  type ThrottlerModuleOptions,
  type ThrottlerStorage,
} from '@nestjs/throttler';
import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { apiKeyOf } from '../auth/api-key-credential.js';
import { ApiKeyRing } from '../auth/api-key-ring.js';
import { ProblemError } from '../http/problem.js';

export const RATE_LIMITED_DETAIL = 'Too many requests from this client; retry after `Retry-After` seconds.';

/** Only the API is limited: probes, metrics and docs serve the cluster and developers. */
const LIMITED_PREFIX = '/v1/';

/**
 * `@nestjs/throttler` with this service's rules: one budget per API key across all /v1 routes
 * (per client IP when no key is sent), `RateLimit-*` headers, and a 429 problem+json.
 */
@Injectable()
export class ApiRateLimitGuard extends ThrottlerGuard {
  protected override headerPrefix = 'RateLimit';

  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    @Inject(Reflector) reflector: Reflector,
    @Inject(ApiKeyRing) private readonly keys: ApiKeyRing,
  ) {
    super(options, storage, reflector);
  }

  protected override shouldSkip(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    return Promise.resolve(context.getType() !== 'http' || !request.url.startsWith(LIMITED_PREFIX));
  }

  /**
   * The API key guard runs first, so with keys configured a key here is a valid one. The key is
   * hashed: the counters in Redis must not hold it. Without configured keys any sent "key" is
   * ignored, or a caller could dodge the limit by inventing keys.
   */
  protected override getTracker(req: FastifyRequest): Promise<string> {
    const key = this.keys.enabled ? apiKeyOf(req.headers) : undefined;
    if (key !== undefined) return Promise.resolve(`key:${createHash('sha256').update(key).digest('hex')}`);
    return Promise.resolve(`ip:${req.ip}`);
  }

  protected override generateKey(_context: ExecutionContext, tracker: string, throttlerName: string): string {
    return `sentiment-api:rate-limit:${throttlerName}:${tracker}`;
  }

  protected override throwThrottlingException(
    _context: ExecutionContext,
    { limit, timeToBlockExpire }: ThrottlerLimitDetail,
  ): Promise<void> {
    const retryAfter = String(Math.max(1, timeToBlockExpire));
    throw new ProblemError(429, 'rate-limited', 'Too Many Requests', RATE_LIMITED_DETAIL, undefined, {
      'Retry-After': retryAfter,
      'RateLimit-Limit': String(limit),
      'RateLimit-Remaining': '0',
      'RateLimit-Reset': retryAfter,
    });
  }
}
