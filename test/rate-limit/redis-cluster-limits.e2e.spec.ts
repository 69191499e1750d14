import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { FastifyReply } from 'fastify';
import calculateSlot from 'cluster-key-slot';
import { createCluster, type RedisClusterType } from 'redis';
import { loadSettings } from '../../src/config/settings.js';
import { RedisThrottlerStorage } from '../../src/rate-limit/redis-throttler-storage.js';
import { RequestLimiter } from '../../src/rate-limit/request-limiter.js';
import { BREAKER_DEFAULTS, RedisConnection } from '../../src/redis/redis-connection.js';
import { startRedisCluster, type RedisCluster } from '../support/redis-cluster.js';

const LIMIT = 3;
const reply = { headers: () => undefined } as unknown as FastifyReply;
/** The status a count answers with: 200 when counted, the refusal's (429) when over. */
const statusOf = (count: Promise<void>) =>
  count.then(
    () => 200,
    (error: { status?: number }) => error.status,
  );

/**
 * The rate-limit script on a node-redis Cluster client: its two keys (`…:hits`, `…:blocked`) share
 * a hash tag, so the cluster runs it; two replicas' limiters then share one count. A refused script
 * would not fail the request (the storage counts in memory instead), so the counts are read back
 * from the cluster.
 */
describe('rate limits on a 3-master Redis Cluster', () => {
  let cluster: RedisCluster;
  const clients: RedisClusterType[] = [];
  const storages: RedisThrottlerStorage[] = [];
  const limiters: RequestLimiter[] = [];

  beforeAll(async () => {
    cluster = await startRedisCluster();
    const settings = loadSettings({
      NODE_ENV: 'test',
      RATE_LIMIT_PER_MINUTE: String(LIMIT),
      AUTH_FAILURES_PER_MINUTE: String(LIMIT),
    });
    // Two replicas, each with a client of its own.
    for (let replica = 0; replica < 2; replica++) {
      const client = createCluster({ rootNodes: [{ url: cluster.url }] }) as RedisClusterType;
      client.on('error', () => undefined);
      await client.connect();
      clients.push(client);
      const storage = new RedisThrottlerStorage(new RedisConnection(client, { timeoutMs: 2000, ...BREAKER_DEFAULTS }));
      storages.push(storage);
      limiters.push(new RequestLimiter(settings, storage));
    }
  }, 60_000);

  afterAll(async () => {
    for (const storage of storages) storage.onApplicationShutdown();
    await Promise.all(clients.map((client) => client.disconnect()));
    await cluster?.stop();
  });

  /** Every rate-limit key on the cluster's masters, with its value. */
  const limitKeys = async (): Promise<Record<string, string | null>> => {
    const client = clients[0];
    const found: Record<string, string | null> = {};
    for (const master of client.masters) {
      const node = await client.nodeClient(master);
      for (const key of await node.keys('sentiment-api:rate-limit:*')) found[key] = await node.get(key);
    }
    return found;
  };

  it('counts one budget across replicas in Redis, then blocks it', async () => {
    const trackers = Array.from({ length: 20 }, (_, i) => `key:tracker-${i}`);
    for (const tracker of trackers) {
      for (let i = 0; i < LIMIT; i++) expect(await statusOf(limiters[i % 2].countRequest(tracker, reply))).toBe(200);
      expect([tracker, await statusOf(limiters[1].countRequest(tracker, reply))]).toEqual([tracker, 429]);
      expect([tracker, await statusOf(limiters[0].countRequest(tracker, reply))]).toEqual([tracker, 429]);
    }
    const stored = await limitKeys();
    const hits = Object.keys(stored).filter((key) => key.endsWith(':hits'));
    expect(hits).toHaveLength(trackers.length);
    for (const key of hits) {
      expect(stored[key]).toBe(String(LIMIT + 2));
      const blocked = key.replace(/:hits$/, ':blocked');
      expect(stored[blocked]).toBe('1');
      expect(calculateSlot(blocked)).toBe(calculateSlot(key));
    }
    // The budgets are spread over the cluster, not in one slot.
    expect(new Set(hits.map((key) => calculateSlot(key))).size).toBeGreaterThan(1);
  });

  it('counts failed key checks per IP in Redis too', async () => {
    for (let i = 0; i < LIMIT; i++) await limiters[i % 2].countAuthFailure('192.0.2.9');
    expect(await statusOf(limiters[0].countAuthFailure('192.0.2.9'))).toBe(429);
    const stored = await limitKeys();
    const hits = Object.keys(stored).filter((key) => key.includes('192.0.2.9') && key.endsWith(':hits'));
    expect(hits).toHaveLength(1);
    expect(stored[hits[0]]).toBe(String(LIMIT + 1));
  });
});
