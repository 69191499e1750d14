// Real time: Redis is killed one AOF fsync (1 s) after the submission, while the job is still running.
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from 'redis';
import { shippedRedisArgs } from '../deploy/support/shipped-redis.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { JobClient, ndjson, type ResultLine } from '../jobs/job-client.js';

const JOB_TEXTS = 60_000;
const JOB_CHUNK_TEXTS = 200;
/** Cache entries' keys (`sentiment:v<n>:<model>:…`), whatever the key version. */
const CACHE_KEY = /^sentiment:v\d+:/;

/** Texts whose answers differ, so a result line answering the wrong text would show. */
const texts = Array.from({ length: JOB_TEXTS }, (_, i) => (i % 2 === 0 ? `good film ${i}` : `awful film ${i}`));

/**
 * Jobs in their own Redis, configured as deploy/k8s ships it (AOF everysec, noeviction), apart
 * from the cache's volatile one; the built server as in production.
 */
describe('bulk jobs in a durable Redis of their own', () => {
  let cacheRedis: RedisServer;
  let jobsRedis: RedisServer;
  let server: ServerProcess;
  let jobs: JobClient;

  beforeAll(async () => {
    cacheRedis = await startRedisServer({ own: true });
    jobsRedis = await startRedisServer({ own: true, config: shippedRedisArgs('jobs-redis-statefulset.yaml') });
    server = await startServerProcess('durable-jobs', {
      REDIS_URL: cacheRedis.url,
      JOBS_REDIS_URL: jobsRedis.url,
      RATE_LIMIT_ENABLED: 'false',
      JOB_CHUNK_TEXTS: String(JOB_CHUNK_TEXTS),
      JOB_WORKER_CONCURRENCY: '1',
    });
    jobs = new JobClient(server.baseUrl);
  });
  afterAll(async () => {
    await server?.stop();
    await cacheRedis?.stop();
    await jobsRedis?.stop();
  });

  it('survives kill -9 of the jobs Redis mid-job: restarted from its AOF, the job completes, every text answered once', async () => {
    const submitted = await jobs.submit(ndjson(texts));
    expect(submitted.status).toBe(202);
    const { id } = (await submitted.json()) as { id: string };
    const textsDone = async () => ((await (await jobs.status(id)).json()) as { textsDone: number }).textsDone;
    for (let tries = 0; (await textsDone()) === 0; tries++) {
      if (tries > 300) throw new Error('the job did not start');
      await sleep(100);
    }
    // Past the AOF's one-second fsync, so the submission itself is on disk; then killed mid-job.
    await sleep(1100);
    expect(await textsDone()).toBeLessThan(JOB_TEXTS);
    await jobsRedis.kill();
    await sleep(1000);
    await jobsRedis.restart();

    const end = await jobs.waitForEnd(id, 120_000);
    expect(end).toMatchObject({ state: 'completed', textsDone: JOB_TEXTS, textsTotal: JOB_TEXTS });
    const response = await jobs.results(id);
    expect(response.status).toBe(200);
    const lines = (await response.text())
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as ResultLine);
    expect(lines.map((line) => line.line)).toEqual(texts.map((_, i) => i + 1));
    expect(lines.map((line) => line.id)).toEqual(texts.map((_, i) => `r${i}`));
    expect(lines.map((line) => line.predictions[0].label)).toEqual(
      texts.map((_, i) => (i % 2 === 0 ? 'POSITIVE' : 'NEGATIVE')),
    );
  }, 180_000);

  it('keeps job keys out of the cache Redis and predictions out of the jobs Redis', async () => {
    const predicted = await jobs.predict(['a text cached by the predict route']);
    expect(predicted).toHaveLength(1);
    const keysOf = async (redis: RedisServer): Promise<string[]> => {
      const client = createClient({ url: redis.url });
      await client.connect();
      try {
        return await client.keys('*');
      } finally {
        await client.disconnect();
      }
    };
    const inCache = await keysOf(cacheRedis);
    const inJobs = await keysOf(jobsRedis);
    expect(inCache.filter((key) => key.startsWith('{sentiment:jobs}') || key.startsWith('{bull}:'))).toEqual([]);
    expect(inCache.some((key) => CACHE_KEY.test(key))).toBe(true);
    expect(inJobs.some((key) => key.startsWith('{bull}:'))).toBe(true);
    expect(inJobs.some((key) => key.startsWith('{sentiment:jobs}'))).toBe(true);
    expect(inJobs.filter((key) => CACHE_KEY.test(key))).toEqual([]);
  });
});
