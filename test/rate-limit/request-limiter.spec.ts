import { jest } from '@jest/globals';
import { ThrottlerStorageService } from '@nestjs/throttler';
import type { FastifyReply } from 'fastify';
import { loadSettings, type Environment } from '../../src/config/settings.js';
import { RATE_LIMITED_DETAIL } from '../../src/http/problem-details.js';
import { ProblemError } from '../../src/http/problem.js';
import { RequestLimiter } from '../../src/rate-limit/request-limiter.js';

/** The limiter on the library's memory storage (as without REDIS_URL), on a clock the test moves. */
function limiterWith(env: Environment) {
  const storage = new ThrottlerStorageService();
  const limiter = new RequestLimiter(loadSettings({ NODE_ENV: 'test', ...env }), storage);
  const count = async (tracker: string) => {
    const headers: Record<string, string> = {};
    const reply = { headers: (set: Record<string, string>) => Object.assign(headers, set) } as unknown as FastifyReply;
    try {
      await limiter.countRequest(tracker, reply);
      return headers;
    } catch (error) {
      if (error instanceof ProblemError) return error;
      throw error;
    }
  };
  return { limiter, count, close: () => storage.onApplicationShutdown() };
}

describe('RequestLimiter', () => {
  let t: ReturnType<typeof limiterWith>;
  beforeEach(() => {
    jest.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') });
    t = limiterWith({ RATE_LIMIT_PER_MINUTE: '2', AUTH_FAILURES_PER_MINUTE: '1' });
  });
  afterEach(() => {
    t.close();
    jest.useRealTimers();
  });

  it('counts down RateLimit-Remaining within the minute, then refuses with 429 until the block ends', async () => {
    expect(await t.count('key:a')).toEqual({
      'RateLimit-Limit': '2',
      'RateLimit-Remaining': '1',
      'RateLimit-Reset': '60',
    });
    jest.advanceTimersByTime(20_000);
    expect(await t.count('key:a')).toEqual({
      'RateLimit-Limit': '2',
      'RateLimit-Remaining': '0',
      'RateLimit-Reset': '40',
    });

    const refused = await t.count('key:a');
    expect(refused).toBeInstanceOf(ProblemError);
    expect(refused).toMatchObject({
      status: 429,
      detail: RATE_LIMITED_DETAIL,
      headers: { 'Retry-After': '60', 'RateLimit-Limit': '2', 'RateLimit-Remaining': '0', 'RateLimit-Reset': '60' },
    });

    // Blocked for a minute from the refusal, not from the window's start.
    jest.advanceTimersByTime(45_000);
    expect(await t.count('key:a')).toMatchObject({ status: 429, headers: { 'Retry-After': '15' } });
    jest.advanceTimersByTime(15_001);
    expect(await t.count('key:a')).toMatchObject({ 'RateLimit-Remaining': '1' });
  });

  it('keeps one budget per tracker', async () => {
    await t.count('key:a');
    await t.count('key:a');
    expect(await t.count('key:a')).toMatchObject({ status: 429 });
    expect(await t.count('key:b')).toMatchObject({ 'RateLimit-Remaining': '1' });
    expect(await t.count('ip:192.0.2.1')).toMatchObject({ 'RateLimit-Remaining': '1' });
  });

  it('counts failed key checks per address on a budget of their own', async () => {
    await expect(t.limiter.countAuthFailure('192.0.2.1')).resolves.toBeUndefined();
    await expect(t.limiter.countAuthFailure('192.0.2.1')).rejects.toMatchObject({ status: 429 });
    await expect(t.limiter.countAuthFailure('192.0.2.2')).resolves.toBeUndefined();
    // Failures do not spend the request budget of the same address.
    expect(await t.count('ip:192.0.2.1')).toMatchObject({ 'RateLimit-Remaining': '1' });
  });
});
