import { redisInsStore } from 'cache-manager-redis-yet';
import type { RedisConnection } from '../redis/redis-connection.js';
import type { PredictionStore } from './prediction-store.js';

/**
 * Predictions in Redis through cache-manager-redis-yet, on the process's one Redis connection:
 * every call goes through its timeout and circuit breaker, and is skipped at once
 * (RedisUnavailableError) while Redis is disconnected or the breaker is open.
 */
export class RedisPredictionStore implements PredictionStore {
  readonly backend = 'redis';

  constructor(private readonly redis: RedisConnection) {}

  isUp(): boolean {
    return this.redis.isUp();
  }

  getMany(keys: readonly string[]): Promise<unknown[]> {
    // Raw MGET rather than the store's mget: that one JSON-parses every value and rejects the
    // whole batch on one corrupt entry, where a corrupt entry should only be a miss.
    return this.redis.execute(async (client) => {
      const values = await client.mGet([...keys]);
      return values.map((value) => (value === null ? undefined : parseOrRaw(value)));
    });
  }

  setMany(entries: readonly (readonly [string, unknown])[], ttlSeconds: number): Promise<void> {
    // One MULTI of SET … PX: a single round trip, every entry with its TTL. The store is a thin
    // wrapper over the client, made inside the call so the command goes through the policies.
    return this.redis.execute((client) =>
      redisInsStore(client).mset(
        entries.map(([key, value]) => [key, value]),
        ttlSeconds * 1000,
      ),
    );
  }

  /** The connection is the Redis module's; it closes it. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}

function parseOrRaw(value: string): unknown {
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}
