import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import calculateSlot from 'cluster-key-slot';
import { createCluster, type RedisClusterType } from 'redis';
import { PredictionKeys } from '../../src/cache/cache-keys.js';
import { RedisPredictionStore } from '../../src/cache/redis-prediction-store.js';
import { BREAKER_DEFAULTS, RedisConnection } from '../../src/redis/redis-connection.js';
import { startRedisCluster, type RedisCluster } from '../support/redis-cluster.js';

const TEXTS = 200;
const STORED = 150;

/**
 * The prediction store on a node-redis Cluster client: a request's keys hash to slots on every
 * master, where a single MGET (or a MULTI) is refused with CROSSSLOT, so the store sends one per slot.
 */
describe('the Redis prediction store on a 3-master Redis Cluster', () => {
  let cluster: RedisCluster;
  let client: RedisClusterType;
  let store: RedisPredictionStore;
  const keys = new PredictionKeys();
  // Shared and tenant-scoped entries, right- and left-truncated: every key form the cache writes.
  const requestKeys = Array.from({ length: TEXTS }, (_, i) =>
    keys.keyFor('fingerprint', `text ${i}`, i % 2 ? 'tenant-a' : undefined, i % 3 ? 'right' : 'left'),
  );
  const value = (i: number) => ({ logits: [i / 10, 1 - i / 10], tokens: i + 1 });

  beforeAll(async () => {
    cluster = await startRedisCluster();
    client = createCluster({ rootNodes: cluster.ports.map((port) => ({ url: `redis://127.0.0.1:${port}` })) });
    client.on('error', () => undefined);
    await client.connect();
    store = new RedisPredictionStore(new RedisConnection(client, { timeoutMs: 2000, ...BREAKER_DEFAULTS }));
  }, 60_000);

  afterAll(async () => {
    await client?.disconnect();
    await cluster?.stop();
  });

  it("spreads a request's keys over many slots, where one MGET is refused", async () => {
    expect(new Set(requestKeys.map((key) => calculateSlot(key))).size).toBeGreaterThan(TEXTS / 2);
    await expect(client.mGet(requestKeys)).rejects.toThrow(/CROSSSLOT/);
  });

  it('writes every entry with its TTL and reads them back in key order, misses where nothing is stored', async () => {
    await store.setMany(
      requestKeys.slice(0, STORED).map((key, i) => [key, value(i)]),
      60,
    );
    const expected = requestKeys.map((_, i) => (i < STORED ? value(i) : undefined));
    expect(await store.getMany(requestKeys)).toEqual(expected);
    // Keys repeated and reordered, as a caller may pass them.
    const shuffled = [requestKeys[7], requestKeys[199], requestKeys[7], requestKeys[0]];
    expect(await store.getMany(shuffled)).toEqual([value(7), undefined, value(7), value(0)]);

    for (const key of requestKeys.slice(0, 5)) {
      const ttl = await client.pTTL(key);
      expect(ttl).toBeGreaterThan(50_000);
      expect(ttl).toBeLessThanOrEqual(60_000);
    }
    // Sharded: every master holds some of the entries.
    const perMaster = await Promise.all(
      client.masters.map(async (master) => (await client.nodeClient(master)).dbSize()),
    );
    expect(perMaster).toHaveLength(3);
    for (const count of perMaster) expect(count).toBeGreaterThan(0);
    expect(perMaster.reduce((sum, count) => sum + count, 0)).toBe(STORED);
  });

  it('reads a value that is not JSON as a miss, alone', async () => {
    await client.set(requestKeys[3], 'not json{');
    const values = await store.getMany(requestKeys.slice(0, 10));
    expect(values).toEqual(requestKeys.slice(0, 10).map((_, i) => (i === 3 ? undefined : value(i))));
  });
});
