import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import { ThrottlerStorageService, type ThrottlerStorage } from '@nestjs/throttler';
import type { RedisClientType } from 'redis';
import { CircuitBreaker } from '../cache/circuit-breaker.js';
import { createResilientRedisClient } from '../cache/resilient-redis-client.js';
import { withTimeout } from '../common/with-timeout.js';

type ThrottlerRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

/**
 * One fixed window per key: count the hit, start the window on the first one, and on going over
 * the limit block the key for `blockDuration`. Atomic in Redis, so replicas share one count.
 * Returns [hits, ms left in the window, ms left blocked (≤ 0: not blocked)].
 */
const INCREMENT_SCRIPT = `
local hits = redis.call('INCR', KEYS[1])
if hits == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local window = redis.call('PTTL', KEYS[1])
local blocked = redis.call('PTTL', KEYS[2])
if blocked <= 0 and hits > tonumber(ARGV[2]) then
  redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])
  blocked = tonumber(ARGV[3])
end
return {hits, window, blocked}`;

const seconds = (ms: number) => Math.max(0, Math.ceil(ms / 1000));

/**
 * Rate-limit counters in Redis (`REDIS_URL`), shared by every replica. While Redis is unreachable,
 * or slower than `timeoutMs` (a frozen server keeps its connection but never answers), each
 * replica counts in its own memory instead: limits loosen for a while, requests never fail or wait.
 */
export class RedisThrottlerStorage implements ThrottlerStorage, OnApplicationShutdown {
  private readonly logger = new Logger(RedisThrottlerStorage.name);
  private readonly client: RedisClientType;
  private readonly local = new ThrottlerStorageService();
  // One slow answer is enough to stop asking for a second: requests also wait on the cache.
  private readonly breaker = new CircuitBreaker({ failureThreshold: 1, openMs: 1000 });

  constructor(
    url: string,
    private readonly timeoutMs: number,
  ) {
    this.client = createResilientRedisClient(url, {
      logger: this.logger,
      outageMessage: 'redis unreachable; rate limits counted per replica until it is back',
    });
  }

  /** Whether counts go to Redis right now (else to this replica's memory). */
  isUp(): boolean {
    return this.client.isReady;
  }

  async increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): Promise<ThrottlerRecord> {
    if (!this.isUp() || !this.breaker.tryAcquire()) {
      return this.local.increment(key, ttl, limit, blockDuration, throttlerName);
    }
    try {
      const counted = this.client.eval(INCREMENT_SCRIPT, {
        keys: [`${key}:hits`, `${key}:blocked`],
        arguments: [String(ttl), String(limit), String(blockDuration)],
      });
      const answer = withTimeout(
        counted,
        this.timeoutMs,
        () => new Error(`redis did not answer within ${this.timeoutMs} ms`),
      );
      const [hits, window, blocked] = (await answer) as [number, number, number];
      this.breaker.recordSuccess();
      return {
        totalHits: hits,
        timeToExpire: seconds(window),
        isBlocked: blocked > 0,
        timeToBlockExpire: seconds(blocked),
      };
    } catch {
      this.breaker.recordFailure();
      return this.local.increment(key, ttl, limit, blockDuration, throttlerName);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.local.onApplicationShutdown();
    if (this.client.isOpen) await this.client.disconnect();
  }
}
