import { redisInsStore } from 'cache-manager-redis-yet';
import type { RedisConnection } from '../redis/redis-connection.js';
import type { PredictionStore } from './prediction-store.js';

/**
 * Predictions in Redis through cache-manager-redis-yet, on the process's one Redis connection:
 * every call goes through its timeout and circuit breaker, and is skipped at once
 * (RedisUnavailableError) while Redis is disconnected or the breaker is open. The store is a thin
 * wrapper over the client, made inside each call so its commands go through those policies.
 */
export class RedisPredictionStore implements PredictionStore {
  readonly backend = 'redis';

  constructor(private readonly redis: RedisConnection) {}

  isUp(): boolean {
    return this.redis.isUp();
  }

  getMany(keys: readonly string[]): Promise<unknown[]> {
    return this.redis.execute(async (client) => {
      const store = redisInsStore(client);
      try {
        // One MGET; the store JSON-parses each value, as it JSON-encoded it in setMany.
        return await store.mget(...keys);
      } catch (error) {
        if (!(error instanceof SyntaxError)) throw error;
        // A value that is not JSON (written by something else, or damaged) fails the store's whole
        // MGET. Read the keys one by one (pipelined: still one round trip) so it alone is a miss, and
        // gets overwritten. Measured in bench/redis-store-reads.ts: this path costs one more round trip.
        return Promise.all(keys.map((key) => store.get(key).catch(missIfNotJson)));
      }
    });
  }

  setMany(entries: readonly (readonly [string, unknown])[], ttlSeconds: number): Promise<void> {
    // One MULTI of SET … PX: a single round trip, every entry with its TTL.
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

function missIfNotJson(error: unknown): undefined {
  if (error instanceof SyntaxError) return undefined;
  throw error;
}
