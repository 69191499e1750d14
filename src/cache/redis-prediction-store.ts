import type { Store } from 'cache-manager';
import { redisClusterInsStore, redisInsStore } from 'cache-manager-redis-yet';
import calculateSlot from 'cluster-key-slot';
import { isClusterClient, type CacheClient } from '../redis/redis-client.js';
import type { RedisCommands, RedisConnection } from '../redis/redis-connection.js';
import type { PredictionStore } from './prediction-store.js';

/** The cluster store reads none of these: they are for its own connect, which is not used here. */
const CLUSTER_STORE_OPTIONS = { rootNodes: [] };

/** cache-manager-redis-yet's store over the cache client, and whether that client is a Cluster. */
interface StoreOver {
  store: Store;
  cluster: boolean;
}

function storeOver(client: CacheClient): StoreOver {
  return isClusterClient(client)
    ? { store: redisClusterInsStore(client, CLUSTER_STORE_OPTIONS), cluster: true }
    : { store: redisInsStore(client), cluster: false };
}

/**
 * Predictions in Redis through cache-manager-redis-yet, on the Redis module's `cache` connection:
 * every call goes through its timeout and circuit breaker, and is skipped at once
 * (RedisUnavailableError) while Redis is disconnected or the breaker is open. The store, a thin
 * wrapper over the client, is made once and its commands run through those policies.
 *
 * On a single Redis a call is one MGET, or one MULTI of SETs. A cluster refuses a multi-key command
 * or a MULTI across hash slots (CROSSSLOT), and a request's keys hash all over: there, one per slot,
 * all sent at once (the cluster client sends each to its slot's master). docs/CACHING.md says why
 * keys are grouped by slot rather than put in one slot per tenant.
 */
export class RedisPredictionStore implements PredictionStore {
  readonly backend = 'redis';

  private readonly stores: RedisCommands<StoreOver>;

  constructor(private readonly redis: RedisConnection) {
    this.stores = redis.through(storeOver);
  }

  isUp(): boolean {
    return this.redis.isUp();
  }

  getMany(keys: readonly string[]): Promise<unknown[]> {
    return this.stores.execute(async ({ store, cluster }) => {
      if (!cluster) return readAll(store, keys);
      const values = new Array<unknown>(keys.length);
      await Promise.all(
        bySlot(keys).map(async (indices) => {
          const answers = await readAll(
            store,
            indices.map((index) => keys[index]),
          );
          indices.forEach((index, n) => (values[index] = answers[n]));
        }),
      );
      return values;
    });
  }

  setMany(entries: readonly (readonly [string, unknown])[], ttlSeconds: number): Promise<void> {
    // A MULTI of SET … PX: every entry with its TTL, in one round trip.
    const write = (store: Store, group: readonly (readonly [string, unknown])[]) =>
      store.mset(
        group.map(([key, value]) => [key, value]),
        ttlSeconds * 1000,
      );
    return this.stores.execute(async ({ store, cluster }) => {
      if (!cluster) return write(store, entries);
      await Promise.all(
        bySlot(entries.map(([key]) => key)).map((indices) =>
          write(
            store,
            indices.map((index) => entries[index]),
          ),
        ),
      );
    });
  }

  /** The connection is the Redis module's; it closes it. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** One MGET; the store JSON-parses each value, as it JSON-encoded it in setMany. */
async function readAll(store: Store, keys: readonly string[]): Promise<unknown[]> {
  try {
    return await store.mget(...keys);
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    // A value that is not JSON (written by something else, or damaged) fails the store's whole
    // MGET. Read the keys one by one (pipelined: still one round trip) so it alone is a miss, and
    // gets overwritten. Measured in bench/redis-store-reads.ts: this path costs one more round trip.
    return Promise.all(keys.map((key) => store.get(key).catch(missIfNotJson)));
  }
}

/** The keys' positions, grouped by hash slot. */
function bySlot(keys: readonly string[]): number[][] {
  const groups = new Map<number, number[]>();
  keys.forEach((key, index) => {
    const slot = calculateSlot(key);
    const group = groups.get(slot);
    if (group) group.push(index);
    else groups.set(slot, [index]);
  });
  return [...groups.values()];
}

function missIfNotJson(error: unknown): undefined {
  if (error instanceof SyntaxError) return undefined;
  throw error;
}
