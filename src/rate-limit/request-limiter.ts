import { Inject, Injectable } from '@nestjs/common';
import { InjectThrottlerStorage, type ThrottlerStorage } from '@nestjs/throttler';
import type { FastifyReply } from 'fastify';
import { SETTINGS } from '../config/config.module.js';
import type { Settings } from '../config/settings.js';
import { RATE_LIMITED_DETAIL, TOO_MANY_FAILURES_DETAIL } from '../http/problem-details.js';
import { PROBLEM } from '../http/problem-catalogue.js';
import { ProblemError } from '../http/problem.js';
import { inSpan, SPAN } from '../telemetry/spans.js';

const MINUTE_MS = 60_000;
/** The throttler names of the two budgets. */
type Budget = 'default' | 'auth-failures';
type ThrottlerRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;
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
    const record = await this.increment('default', `${KEY_PREFIX}:{default:${tracker}}`, limit);
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
    const record = await this.increment('auth-failures', `${KEY_PREFIX}:{auth-failures:ip:${ip}}`, limit);
    if (record.isBlocked) throw tooManyRequests(limit, record.timeToBlockExpire, TOO_MANY_FAILURES_DETAIL);
  }

  /** One count in a fixed minute window, in its span: the budget and the outcome, never the tracker. */
  private increment(budget: Budget, key: string, limit: number): Promise<ThrottlerRecord> {
    return inSpan(SPAN.rateLimit, {}, async (span) => {
      const record = await this.storage.increment(key, MINUTE_MS, limit, MINUTE_MS, budget);
      if (span.isRecording()) {
        span.setAttributes({
          'sentiment.rate_limit.budget': budget,
          'sentiment.rate_limit.limit': limit,
          'sentiment.rate_limit.remaining': Math.max(0, limit - record.totalHits),
          'sentiment.rate_limit.outcome': record.isBlocked ? 'limited' : 'allowed',
        });
      }
      return record;
    });
  }
}

function tooManyRequests(limit: number, secondsBlocked: number, detail: string): ProblemError {
  const retryAfter = String(Math.max(1, secondsBlocked));
  return new ProblemError(PROBLEM.rateLimited, detail, {
    headers: {
      'Retry-After': retryAfter,
      'RateLimit-Limit': String(limit),
      'RateLimit-Remaining': '0',
      'RateLimit-Reset': retryAfter,
    },
  });
}
