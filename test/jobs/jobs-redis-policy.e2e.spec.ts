import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from 'redis';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { JobClient, ndjson } from './job-client.js';

const KEY = 'policy-test-key-0123456789';

/** The app in production with its jobs in `jobsRedis`; the jobs routes reached at its own port. */
async function productionApp(
  jobsRedis: RedisServer,
  cacheRedis: RedisServer,
): Promise<{ t: TestApp; jobs: JobClient }> {
  const t = await startTestApp({
    NODE_ENV: 'production',
    API_KEYS: KEY,
    CACHE_KEY_SECRET: 'a-cache-key-secret-for-the-policy-test',
    REDIS_URL: cacheRedis.url,
    JOBS_REDIS_URL: jobsRedis.url,
    RATE_LIMIT_ENABLED: 'false',
  });
  await t.app.listen(0, '127.0.0.1');
  const { port } = t.app.getHttpServer().address() as AddressInfo;
  return { t, jobs: new JobClient(`http://127.0.0.1:${port}`, KEY) };
}

/** The answer to a one-text submission once the store has connected and read the policy. */
async function submissionOnceConnected(jobs: JobClient): Promise<Response> {
  for (let tries = 0; ; tries++) {
    const response = await jobs.submit(ndjson(['a fine day']));
    const body = (await response.clone().json()) as { detail?: string };
    // Before the first connect the store is unreachable (503, another detail); the policy is read on connect.
    const connecting = response.status === 503 && !body.detail?.includes('maxmemory-policy');
    if (!connecting || tries >= 300) return response;
    await sleep(100);
  }
}

describe('production refuses a jobs Redis that would evict jobs', () => {
  let cacheRedis: RedisServer;
  let evicting: RedisServer;
  let durable: RedisServer;

  beforeAll(async () => {
    cacheRedis = await startRedisServer({ own: true });
    evicting = await startRedisServer({ own: true, config: ['--save', '', '--maxmemory-policy', 'allkeys-lru'] });
    durable = await startRedisServer({ own: true, config: ['--save', '', '--maxmemory-policy', 'noeviction'] });
  });
  afterAll(async () => {
    await cacheRedis?.stop();
    await evicting?.stop();
    await durable?.stop();
  });

  it('answers 503 naming the policy with allkeys-lru, and stores nothing', async () => {
    const { t, jobs } = await productionApp(evicting, cacheRedis);
    try {
      const response = await submissionOnceConnected(jobs);
      expect(response.status).toBe(503);
      expect(await response.json()).toMatchObject({
        type: 'urn:sentiment-api:problem:jobs-unavailable',
        detail: expect.stringContaining('maxmemory-policy allkeys-lru') as unknown,
      });
      const inspector = createClient({ url: evicting.url });
      await inspector.connect();
      try {
        expect(await inspector.keys('{sentiment:jobs}*')).toEqual([]);
      } finally {
        await inspector.disconnect();
      }
    } finally {
      await t.close();
    }
  });

  it('accepts jobs with noeviction', async () => {
    const { t, jobs } = await productionApp(durable, cacheRedis);
    try {
      const response = await submissionOnceConnected(jobs);
      expect(response.status).toBe(202);
    } finally {
      await t.close();
    }
  });
});
