import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import { ThrottlerStorageService, type ThrottlerStorage } from '@nestjs/throttler';
import { createClient, type RedisClientType } from 'redis';
import { reconnectDelayMs } from '../cache/redis-prediction-store.js';

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
 * Rate-limit counters in Redis (`REDIS_URL`), shared by every replica. While Redis is unreachable
 * each replica counts in its own memory instead: limits loosen for a while, requests never fail.
 */
export class RedisThrottlerStorage implements ThrottlerStorage, OnApplicationShutdown {
  private readonly logger = new Logger(RedisThrottlerStorage.name);
  private readonly client: RedisClientType;
  private readonly local = new ThrottlerStorageService();
  private outageReported = false;

  constructor(url: string) {
    this.client = createClient({
      url,
      disableOfflineQueue: true,
      socket: { connectTimeout: 2000, reconnectStrategy: reconnectDelayMs },
    }) as RedisClientType;
    // The URL is never logged: it may hold a password.
    this.client.on('error', (error: Error) => {
      if (this.outageReported) return;
      this.outageReported = true;
      this.logger.warn({
        msg: 'redis unreachable; rate limits counted per replica until it is back',
        error: error.message,
      });
    });
    this.client.on('ready', () => {
      this.outageReported = false;
    });
    this.client.connect().catch(() => undefined);
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
    if (!this.isUp()) return this.local.increment(key, ttl, limit, blockDuration, throttlerName);
    try {
      const [hits, window, blocked] = (await this.client.eval(INCREMENT_SCRIPT, {
        keys: [`${key}:hits`, `${key}:blocked`],
        arguments: [String(ttl), String(limit), String(blockDuration)],
      })) as [number, number, number];
      return {
        totalHits: hits,
        timeToExpire: seconds(window),
        isBlocked: blocked > 0,
        timeToBlockExpire: seconds(blocked),
      };
    } catch {
      return this.local.increment(key, ttl, limit, blockDuration, throttlerName);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.local.onApplicationShutdown();
    if (this.client.isOpen) await this.client.disconnect();
  }
}
