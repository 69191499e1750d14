import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { Cluster } from 'ioredis';
import { loadSettings } from '../../src/config/settings.js';
import { createRedisClient } from '../../src/redis/redis-client.js';
import { RedisClients } from '../../src/redis/redis-clients.js';
import { BREAKER_DEFAULTS, RedisConnection } from '../../src/redis/redis-connection.js';
import { cacheRedisEndpoint } from '../../src/redis/redis-endpoint.js';
import { RedisOutageLog } from '../../src/redis/redis-outage.js';
import { startRedisCluster, type RedisCluster } from '../support/redis-cluster.js';
import { until } from '../support/until.js';

/**
 * Client creation against a real 3-master Redis Cluster on loopback (REDIS_CLUSTER=true, the URL
 * naming one seed node): the cache's node-redis Cluster and the job store's ioredis Cluster find
 * the other nodes and route single-key commands to the slot's master. Multi-key layout (MGET, Lua
 * over several keys, BullMQ's prefix) is tested with the key layout, not here.
 */
describe('Redis Cluster: clients created from REDIS_CLUSTER / JOBS_REDIS_CLUSTER', () => {
  let cluster: RedisCluster;
  /** Keys that hash to different slots, so to different masters. */
  const keys = ['cluster-test:a', 'cluster-test:b', 'cluster-test:c', 'cluster-test:d'];

  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3 });
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  it('the cache client connects through the seed and serves GET/SET on every master', async () => {
    const settings = loadSettings({ NODE_ENV: 'test', REDIS_URL: cluster.url, REDIS_CLUSTER: 'true' });
    const outage = new RedisOutageLog(new Logger('Redis'), 'cache', 'test');
    const { client, stop } = createRedisClient(cacheRedisEndpoint(settings)!, outage);
    const redis = new RedisConnection(client, { timeoutMs: 1000, ...BREAKER_DEFAULTS });
    try {
      await until(() => redis.isUp(), 10_000);
      expect('masters' in client && client.masters).toHaveLength(3);
      for (const key of keys) {
        await redis.execute((c) => c.set(key, `value of ${key}`));
        await expect(redis.execute((c) => c.get(key))).resolves.toBe(`value of ${key}`);
      }
    } finally {
      stop();
      await redis.close();
    }
  });

  it("the jobs' ioredis Clusters connect, and shutdown drops them and BullMQ's duplicates", async () => {
    // JOBS_REDIS_CLUSTER follows REDIS_CLUSTER when jobs use the cache's Redis.
    const settings = loadSettings({ NODE_ENV: 'test', REDIS_URL: cluster.url, REDIS_CLUSTER: 'true' });
    const clients = new RedisClients(settings);
    const store = clients.jobsStore();
    const client = clients.jobsQueue();
    expect(store).toBeInstanceOf(Cluster);
    expect(client).toBeInstanceOf(Cluster);
    for (const jobs of [store, client]) {
      await until(() => jobs.status === 'ready', 10_000);
      for (const key of keys) {
        await jobs.set(key, 'jobs');
        await expect(jobs.get(key)).resolves.toBe('jobs');
      }
    }
    // BullMQ's worker duplicates its connection for blocking reads: that Cluster is the jobs-worker role.
    const copy = client.duplicate();
    await until(() => copy.status === 'ready', 10_000);
    await clients.close(['jobs-worker', 'jobs-queue', 'jobs-store'], () => new Promise<never>(() => undefined));
    // Dropped, not closed politely: all let go of every node (a dropped ioredis Cluster ends as 'close').
    const dropped = (c: Cluster) => c.nodes().length === 0 && ['close', 'end'].includes(c.status);
    await until(() => [store, client, copy].every((c) => dropped(c as Cluster)), 5000);
  }, 20_000);
});
