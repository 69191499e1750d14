import { Inject, Injectable } from '@nestjs/common';
import { InjectThrottlerStorage, type ThrottlerStorage } from '@nestjs/throttler';
import type { FastifyReply } from 'fastify';
import { SETTINGS } from '../config/config.module.js';
import type { Settings } from '../config/settings.js';
import { RATE_LIMITED_DETAIL, TOO_MANY_FAILURES_DETAIL } from '../http/problem-details.js';
import { ProblemError } from '../http/problem.js';

const MINUTE_MS = 60_000;
/**
 * Each budget's key holds its name in a Redis Cluster hash tag (`{...}`): the counting script's two
 * keys (`…:hits`, `…:blocked`) then map to one slot, as a script's keys must on a cluster.
 */
const KEY_PREFIX = 'sentiment-api:rate-limit';

/**
 * The request budgets, counted in `@nestjs/throttler`'s storage (`ThrottlerStorage.increment`: one
 * fixed window per key, blocked for a minute once over; Redis-backed with a memory fallback, see
 * RateLimitModule). The library's ThrottlerGuard is not used: a Nest guard runs after the body has
 * been read and parsed, and this count must come first (the route access gate calls it from an
 * `onRequest` hook). Callers pass an opaque tracker; they never pass a key in clear.
 */
@Injectable()
export class RequestLimiter {
  constructor(
    @Inject(SETTINGS) private readonly settings: Settings,
    @InjectThrottlerStorage() private readonly storage: ThrottlerStorage,
  ) {}

  /**
   * Counts one request against `tracker`'s budget (`RATE_LIMIT_PER_MINUTE`): sets `RateLimit-*` on
   * the reply, or throws the 429 once the budget is spent.
   */
  async countRequest(tracker: string, reply: FastifyReply): Promise<void> {
    if (!this.settings.rateLimitEnabled) return;
    const limit = this.settings.rateLimitPerMinute;
    const record = await this.storage.increment(
      `${KEY_PREFIX}:{default:${tracker}}`,
      MINUTE_MS,
      limit,
      MINUTE_MS,
      'default',
    );
    if (record.isBlocked) throw tooManyRequests(limit, record.timeToBlockExpire, RATE_LIMITED_DETAIL);
    void reply.headers({
      'RateLimit-Limit': String(limit),
      'RateLimit-Remaining': String(Math.max(0, limit - record.totalHits)),
      'RateLimit-Reset': String(record.timeToExpire),
    });
  }

  /**
   * Counts one failed key check from `ip` (`AUTH_FAILURES_PER_MINUTE`) and throws the 429 once
   * there were too many, so a stranger's flood of bad keys is refused rather than checked.
   */
  async countAuthFailure(ip: string): Promise<void> {
    if (!this.settings.rateLimitEnabled) return;
    const limit = this.settings.authFailuresPerMinute;
    const record = await this.storage.increment(
      `${KEY_PREFIX}:{auth-failures:ip:${ip}}`,
      MINUTE_MS,
      limit,
      MINUTE_MS,
      'auth-failures',
    );
    if (record.isBlocked) throw tooManyRequests(limit, record.timeToBlockExpire, TOO_MANY_FAILURES_DETAIL);
  }
}

function tooManyRequests(limit: number, secondsBlocked: number, detail: string): ProblemError {
  const retryAfter = String(Math.max(1, secondsBlocked));
  return new ProblemError(429, 'rate-limited', 'Too Many Requests', detail, undefined, {
    'Retry-After': retryAfter,
    'RateLimit-Limit': String(limit),
    'RateLimit-Remaining': '0',
    'RateLimit-Reset': retryAfter,
  });
}
