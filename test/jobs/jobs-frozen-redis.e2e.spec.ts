import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { AddressInfo } from 'node:net';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { JobClient, ndjson } from './job-client.js';

/**
 * A frozen jobs Redis (SIGSTOP: the connection stays, nothing is answered) must not hold a job
 * route: the job store's command timeout (REDIS_COMMAND_TIMEOUT_MS) fails the call, the route
 * answers 503, and once Redis thaws the same route answers again. The fault is deterministic:
 * without the timeout the request would wait for as long as Redis stays frozen.
 */
describe('job routes on a frozen jobs Redis', () => {
  let redis: RedisServer;
  let t: TestApp;
  let jobs: JobClient;

  beforeAll(async () => {
    redis = await startRedisServer({ own: true });
    t = await startTestApp({ REDIS_URL: redis.url });
    await t.app.listen(0, '127.0.0.1');
    const { port } = t.app.getHttpServer().address() as AddressInfo;
    jobs = new JobClient(`http://127.0.0.1:${port}`, undefined, 'frozen-redis-job-token-0123456789abc');
  });
  afterAll(async () => {
    redis?.resume();
    await t?.close();
    await redis?.stop();
  });

  it('answers 503 jobs-unavailable while Redis is frozen, and the job again once it thaws', async () => {
    const submitted = await jobs.submit(ndjson(['a text before the freeze']));
    expect(submitted.status).toBe(202);
    const { id } = (await submitted.json()) as { id: string };
    expect(await jobs.waitForEnd(id, 20_000)).toMatchObject({ state: 'completed' });

    redis.pause();
    try {
      const refused = await jobs.status(id);
      expect(refused.status).toBe(503);
      expect(await refused.json()).toMatchObject({ type: 'urn:sentiment-api:problem:jobs-unavailable' });
    } finally {
      redis.resume();
    }
    const answered = await jobs.status(id);
    expect(answered.status).toBe(200);
    expect(await answered.json()).toMatchObject({ id, state: 'completed' });
  }, 45_000);
});
