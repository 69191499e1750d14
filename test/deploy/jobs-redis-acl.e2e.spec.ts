import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createClient } from 'redis';
import { TEST_OUTPUT_DIR } from '../support/paths.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { JobClient, ndjson } from '../jobs/job-client.js';
import { deployGuideAcl, deployGuideUrl } from './support/deploy-guide.js';
import { shippedRedisArgs } from './support/shipped-redis.js';

const PASSWORD = 'jobs-redis-password-0123456789abcdef';
/** A user of the test's own, beside the guide's, to read the ACL log and client list. */
const INSPECTOR = { user: 'inspector', password: 'inspector-password-0123456789' };
const JOB_TEXTS = 120;

type RedisClient = ReturnType<typeof createClient>;

/** Fields of one `INFO commandstats` line, e.g. `cmdstat_info:calls=3,…,rejected_calls=0,…`. */
function commandStats(info: string, command: string): Record<string, number> {
  const line = info.split(/\r?\n/).find((candidate) => candidate.startsWith(`cmdstat_${command}:`));
  const fields = (line?.split(':')[1] ?? '').split(',').map((field) => field.split('='));
  return Object.fromEntries(
    fields.filter(([, value]) => value !== undefined).map(([key, value]) => [key, Number(value)]),
  );
}

/**
 * The jobs Redis as docs/DEPLOY.md has the operator set it up: the shipped arguments
 * (deploy/k8s/base/jobs-redis-statefulset.yaml) with the guide's ACL file, and the service
 * connecting as the guide's JOBS_REDIS_URL user. BullMQ and the job store must do all they do
 * without one command or key refused; everything else stays refused.
 */
describe('the jobs Redis ACL of docs/DEPLOY.md, with the app running jobs through it', () => {
  let cacheRedis: RedisServer;
  let jobsRedis: RedisServer;
  let inspector: RedisClient;
  let t: TestApp;
  let jobs: JobClient;
  let jobsRedisUrl: URL;

  const clientAs = async (user?: { user: string; password: string }): Promise<RedisClient> => {
    const url = new URL(jobsRedis.url);
    if (user) [url.username, url.password] = [user.user, user.password];
    const client = createClient({ url: url.toString() });
    await client.connect();
    return client;
  };

  beforeAll(async () => {
    const acl = deployGuideAcl('sentiment-jobs-redis-acl', PASSWORD);
    expect(acl.length).toBeGreaterThan(0);
    const dir = join(TEST_OUTPUT_DIR, 'jobs-redis-acl');
    mkdirSync(dir, { recursive: true });
    const aclFile = join(dir, 'users.acl');
    writeFileSync(aclFile, [...acl, `user ${INSPECTOR.user} on >${INSPECTOR.password} ~* &* +@all`, ''].join('\n'));

    cacheRedis = await startRedisServer({ own: true });
    jobsRedis = await startRedisServer({
      own: true,
      config: [...shippedRedisArgs('jobs-redis-statefulset.yaml'), '--aclfile', aclFile],
    });
    // The guide's URL (its user and password), at this test's redis-server.
    jobsRedisUrl = new URL(deployGuideUrl('sentiment-api-jobs-redis', PASSWORD)!);
    jobsRedisUrl.host = new URL(jobsRedis.url).host;
    inspector = await clientAs(INSPECTOR);

    t = await startTestApp({
      REDIS_URL: cacheRedis.url,
      JOBS_REDIS_URL: jobsRedisUrl.toString(),
      RATE_LIMIT_ENABLED: 'false',
      JOB_CHUNK_TEXTS: '20',
    });
    await t.app.listen(0, '127.0.0.1');
    const { port } = t.app.getHttpServer().address() as AddressInfo;
    // Without API keys: one caller, one job token (its Idempotency-Key is scoped to it).
    jobs = new JobClient(`http://127.0.0.1:${port}`, undefined, 'acl-test-job-token-0123456789abcdef');
  });
  afterAll(async () => {
    await t?.close();
    await inspector?.quit().catch(() => undefined);
    await cacheRedis?.stop();
    await jobsRedis?.stop();
  });

  it('lets the service submit, run, answer, resubmit and cancel jobs with no command or key refused', async () => {
    const texts = Array.from({ length: JOB_TEXTS }, (_, i) => `${i % 2 === 0 ? 'lovely' : 'dreadful'} review ${i}`);
    const headers = { 'Idempotency-Key': 'acl-test-job' };
    const submitted = await jobs.submit(ndjson(texts), headers);
    expect(submitted.status).toBe(202);
    const { id } = (await submitted.json()) as { id: string };
    expect(await jobs.waitForEnd(id, 60_000)).toMatchObject({ state: 'completed', textsDone: JOB_TEXTS });
    expect((await jobs.resultLines(id)).map((line) => line.id)).toEqual(texts.map((_, i) => `r${i}`));
    const again = (await (await jobs.submit(ndjson(texts), headers)).json()) as { id: string };
    expect(again.id).toBe(id);
    const other = (await (await jobs.submit(ndjson(texts.slice(0, 40)))).json()) as { id: string };
    expect((await jobs.cancel(other.id)).ok).toBe(true);

    // Every connection of the service is the guide's user; nothing it sent was refused.
    const connections = (await inspector.sendCommand<string>(['CLIENT', 'LIST']))
      .split('\n')
      .filter((line) => / user=sentiment-api /.test(` ${line} `));
    expect(connections.length).toBeGreaterThanOrEqual(3);
    expect(await inspector.sendCommand(['ACL', 'LOG'])).toEqual([]);
    // And it did send what the categories would refuse without the guide's exceptions: INFO
    // (BullMQ's version check, the service's eviction policy check), besides scripts and names.
    const stats = await inspector.sendCommand<string>(['INFO', 'commandstats']);
    for (const command of ['info', 'client|setname', 'evalsha']) {
      const { calls = 0, rejected_calls: rejected = 0 } = commandStats(stats, command);
      expect({ command, ran: calls > 0, rejected }).toEqual({ command, ran: true, rejected: 0 });
    }
  }, 90_000);

  it('refuses the service’s user admin and dangerous commands and other keys, and anonymous clients all but PING', async () => {
    const api = await clientAs({ user: decodeURIComponent(jobsRedisUrl.username), password: PASSWORD });
    const anonymous = await clientAs();
    try {
      for (const command of [
        ['CONFIG', 'GET', 'maxmemory'],
        ['FLUSHALL'],
        ['KEYS', '*'],
        ['CLIENT', 'LIST'],
        ['GET', 'sentiment:not-a-job-key'],
        ['SET', 'other-app:key', 'x'],
      ])
        await expect(api.sendCommand(command)).rejects.toThrow(/NOPERM/);
      expect(await api.sendCommand(['GET', '{sentiment:jobs}:no-such-job'])).toBeNull();

      expect(await anonymous.ping()).toBe('PONG');
      for (const command of [['GET', '{bull}:sentiment-job-chunks:meta'], ['INFO'], ['KEYS', '*']])
        await expect(anonymous.sendCommand(command)).rejects.toThrow(/NOPERM/);
      // The log that stayed empty while the service worked records refusals.
      expect((await inspector.sendCommand<unknown[]>(['ACL', 'LOG'])).length).toBeGreaterThan(0);
    } finally {
      await api.quit().catch(() => undefined);
      await anonymous.quit().catch(() => undefined);
    }
  });
});
