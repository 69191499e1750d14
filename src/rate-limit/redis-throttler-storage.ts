import type { OnApplicationShutdown } from '@nestjs/common';
import { ThrottlerStorageService, type ThrottlerStorage } from '@nestjs/throttler';
import { isClusterClient } from '../redis/redis-client.js';
import type { RedisConnection } from '../redis/redis-connection.js';

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
 * Rate-limit counters in Redis (`REDIS_URL`), shared by every replica, on the process's one Redis
 * connection. While Redis is unreachable, slower than the timeout (a frozen server keeps its
 * connection but never answers), or its breaker is open, each replica counts in its own memory
 * instead: limits loosen for a while, requests never fail or wait.
 */
export class RedisThrottlerStorage implements ThrottlerStorage, OnApplicationShutdown {
  private readonly local = new ThrottlerStorageService();

  constructor(private readonly redis: RedisConnection) {}

  async increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): Promise<ThrottlerRecord> {
    try {
      // One slot on a cluster: RequestLimiter's keys hold a hash tag, which both keys keep.
      const keys = [`${key}:hits`, `${key}:blocked`];
      const args = [String(ttl), String(limit), String(blockDuration)];
      const [hits, window, blocked] = (await this.redis.execute((client) =>
        isClusterClient(client)
          ? // node-redis 4 sends a cluster's EVAL to any node, not its keys' (redis/node-redis#2811).
            client.sendCommand(keys[0], false, ['EVAL', INCREMENT_SCRIPT, String(keys.length), ...keys, ...args])
          : client.eval(INCREMENT_SCRIPT, { keys, arguments: args }),
      )) as [number, number, number];
      return {
        totalHits: hits,
        timeToExpire: seconds(window),
        isBlocked: blocked > 0,
        timeToBlockExpire: seconds(blocked),
      };
    } catch {
      // Skipped, failed or timed out: the connection's breaker has counted it; count here instead.
      return this.local.increment(key, ttl, limit, blockDuration, throttlerName);
    }
  }

  /** The connection is the Redis module's; it closes it. */
  onApplicationShutdown(): void {
    this.local.onApplicationShutdown();
  }
}
