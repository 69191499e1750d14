import type { ThrottlerStorage } from '@nestjs/throttler';
import type { FastifyReply } from 'fastify';
import { RequestLimiter } from '../../src/rate-limit/request-limiter.js';
import { loadSettings } from '../../src/config/settings.js';

/** The part of a key Redis Cluster hashes: the first `{...}` with something inside, else the whole key. */
function hashTag(key: string): string {
  const open = key.indexOf('{');
  const close = open === -1 ? -1 : key.indexOf('}', open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : key;
}

describe('rate-limit keys on a Redis Cluster', () => {
  it("put both keys of a budget's counting script in one hash slot", async () => {
    const keys: string[] = [];
    const storage = {
      increment: (key: string) => {
        keys.push(key);
        return Promise.resolve({ totalHits: 1, timeToExpire: 60, isBlocked: false, timeToBlockExpire: 0 });
      },
    } as unknown as ThrottlerStorage;
    const limiter = new RequestLimiter(loadSettings({ NODE_ENV: 'test' }), storage);
    await limiter.countRequest('key:abc', { headers: () => undefined } as unknown as FastifyReply);
    await limiter.countAuthFailure('192.0.2.7');
    expect(keys).toHaveLength(2);
    for (const key of keys) {
      // RedisThrottlerStorage's script touches `${key}:hits` and `${key}:blocked`.
      expect(hashTag(`${key}:hits`)).toBe(hashTag(`${key}:blocked`));
      expect(hashTag(`${key}:hits`)).not.toBe(`${key}:hits`);
    }
    expect(hashTag(`${keys[0]}:hits`)).not.toBe(hashTag(`${keys[1]}:hits`));
  });
});
