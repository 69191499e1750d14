import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { AddressInfo } from 'node:net';
import { createClient } from 'redis';
import { JOB_CHUNK_QUEUE, JOB_QUEUE_PREFIX } from '../../src/jobs/job-queue.js';
import { JobClient, ndjson } from '../jobs/job-client.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

/** `CLIENT LIST`'s connections by name (`(unnamed)` for none), the inspecting connection left out. */
async function connectionsByName(url: string): Promise<Record<string, number>> {
  const inspector = createClient({ url, name: 'inspector' });
  await inspector.connect();
  try {
    const list = await inspector.sendCommand<string>(['CLIENT', 'LIST']);
    const counts: Record<string, number> = {};
    for (const [, name] of list.matchAll(/ name=(\S*) /g)) {
      const key = name || '(unnamed)';
      if (key !== 'inspector') counts[key] = (counts[key] ?? 0) + 1;
    }
    return counts;
  } finally {
    await inspector.quit();
  }
}

/**
 * The Redis connections one replica opens, as docs/REDIS.md states them: with jobs on (here on the
 * cache's Redis), the shared cache/limiter client, the job store, BullMQ's connection shared by the
 * queue and the worker, and the worker's blocking duplicate, named `<BullMQ prefix>:<queue name in base64>`.
 */
describe('Redis connections of one replica', () => {
  let redis: RedisServer;
  let t: TestApp;

  beforeAll(async () => {
    redis = await startRedisServer({ own: true });
    t = await startTestApp({ REDIS_URL: redis.url, JOB_CHUNK_TEXTS: '10' });
    await t.app.listen(0, '127.0.0.1');
  });
  afterAll(async () => {
    await t?.close();
    await redis?.stop();
  });

  it('is one per role, and two for the job queue (its worker blocks on a connection of its own)', async () => {
    const { port } = t.app.getHttpServer().address() as AddressInfo;
    // A job run end to end: every client has connected and done its work.
    const jobs = new JobClient(`http://127.0.0.1:${port}`, undefined, 'connection-count-job-token-0123456789');
    const submitted = await jobs.submit(ndjson(Array.from({ length: 20 }, (_, i) => `counted text ${i}`)));
    const { id } = (await submitted.json()) as { id: string };
    expect(await jobs.waitForEnd(id, 30_000)).toMatchObject({ state: 'completed' });
    await jobs.predict(['counted text 0']);

    const expected = {
      'sentiment-api': 1,
      'sentiment-api:jobs-store': 1,
      'sentiment-api:jobs-queue': 1,
      [`${JOB_QUEUE_PREFIX}:${Buffer.from(JOB_CHUNK_QUEUE).toString('base64')}`]: 1,
    };
    expect(await connectionsByName(redis.url)).toEqual(expected);
  }, 45_000);
});
