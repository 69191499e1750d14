import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createClient } from 'redis';
import { JobClient, ndjson } from '../jobs/job-client.js';
import { TEST_OUTPUT_DIR } from '../support/paths.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { until } from '../support/until.js';
import { startLoggedApp, type LoggedApp } from './logged-app.js';

const CACHE_USER = { name: 'sentiment-cache', password: 'cache-password-7f3a9c1e5b' };
const JOBS_USER = { name: 'sentiment-jobs', password: 'jobs-password-2d8e4b6a0c' };
const WRONG_PASSWORD = 'not-the-password-91c4e7';
const INSPECTOR = { name: 'inspector', password: 'inspector-password-5e0b' };

/** A redis-server whose default user is off: only the ACL users given (and the inspector) get in. */
function startAclRedis(user: { name: string; password: string }): Promise<RedisServer> {
  return startRedisServer({
    own: true,
    config: [
      ...['--save', '', '--appendonly', 'no'],
      ...['--user', 'default', 'off'],
      ...['--user', user.name, 'on', `>${user.password}`, '~*', '&*', '+@all'],
      ...['--user', INSPECTOR.name, 'on', `>${INSPECTOR.password}`, '~*', '&*', '+@all'],
    ],
  });
}

function secretFile(name: string, content: string): string {
  const dir = join(TEST_OUTPUT_DIR, 'redis-credentials');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, name);
  writeFileSync(file, `${content}\n`, { mode: 0o600 });
  return file;
}

/** The users of the clients connected to `server` (the inspector's own connection left out). */
async function connectedUsers(server: RedisServer): Promise<string[]> {
  const inspector = createClient({ url: server.url, username: INSPECTOR.name, password: INSPECTOR.password });
  await inspector.connect();
  try {
    const list = await inspector.sendCommand<string>(['CLIENT', 'LIST']);
    return [...list.matchAll(/ user=(\S+) /g)].map(([, user]) => user).filter((user) => user !== INSPECTOR.name);
  } finally {
    await inspector.quit();
  }
}

const baseUrlOf = async (t: LoggedApp) => {
  await t.app.listen(0, '127.0.0.1');
  return `http://127.0.0.1:${(t.app.getHttpServer().address() as AddressInfo).port}`;
};

/**
 * ACL users with passwords, from REDIS_PASSWORD_FILE / JOBS_REDIS_PASSWORD_FILE (a mounted Secret)
 * and overriding the URLs' (here absent) user info: the cache and jobs work; a wrong password is
 * said once per Redis role, never echoed, and the service serves from the model.
 */
describe('Redis credentials', () => {
  let cacheRedis: RedisServer;
  let jobsRedis: RedisServer;
  const apps: LoggedApp[] = [];

  beforeAll(async () => {
    [cacheRedis, jobsRedis] = await Promise.all([startAclRedis(CACHE_USER), startAclRedis(JOBS_USER)]);
  });
  afterAll(async () => {
    await Promise.all(apps.map((t) => t.close()));
    await Promise.all([cacheRedis?.stop(), jobsRedis?.stop()]);
  });

  it('logs in as each Redis’s ACL user, the passwords read from files', async () => {
    const t = await startLoggedApp({
      REDIS_URL: cacheRedis.url,
      REDIS_USERNAME: CACHE_USER.name,
      REDIS_PASSWORD_FILE: secretFile('cache-password', CACHE_USER.password),
      JOBS_REDIS_URL: jobsRedis.url,
      JOBS_REDIS_USERNAME: JOBS_USER.name,
      JOBS_REDIS_PASSWORD_FILE: secretFile('jobs-password', JOBS_USER.password),
      JOB_CHUNK_TEXTS: '10',
    });
    apps.push(t);
    const jobs = new JobClient(await baseUrlOf(t), undefined, 'credentials-test-job-token-0123456789');
    const submitted = await jobs.submit(ndjson(Array.from({ length: 30 }, (_, i) => `credentials text ${i}`)));
    expect(submitted.status).toBe(202);
    const { id } = (await submitted.json()) as { id: string };
    expect(await jobs.waitForEnd(id, 30_000)).toMatchObject({ state: 'completed', textsDone: 30 });
    await jobs.predict(['credentials text 0']);
    expect(new Set(await connectedUsers(cacheRedis))).toEqual(new Set([CACHE_USER.name]));
    expect(new Set(await connectedUsers(jobsRedis))).toEqual(new Set([JOBS_USER.name]));
    const log = t.lines.join('\n');
    for (const password of [CACHE_USER.password, JOBS_USER.password]) expect(log).not.toContain(password);
    await apps.splice(apps.indexOf(t), 1)[0].close();
  }, 60_000);

  it('says once per role that a wrong password was refused, never logs it, and serves from the model', async () => {
    // Jobs on the cache's Redis log in with the cache's (wrong) credentials.
    const t = await startLoggedApp({
      REDIS_URL: cacheRedis.url,
      REDIS_USERNAME: CACHE_USER.name,
      REDIS_PASSWORD_FILE: secretFile('wrong-password', WRONG_PASSWORD),
    });
    apps.push(t);
    const baseUrl = await baseUrlOf(t);
    const refused = () => t.logged(/credentials refused/);
    await until(() => new Set(refused().map(({ role }) => role)).size === 4, 15_000);
    // Several reconnect attempts later, still one line per role.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(
      refused()
        .map(({ role }) => role)
        .sort(),
    ).toEqual(['cache', 'jobs-queue', 'jobs-store', 'jobs-worker']);
    for (const { msg } of refused()) expect(msg).toMatch(/^redis \(\S+\) credentials refused \(WRONGPASS/);
    expect(t.lines.join('\n')).not.toContain(WRONG_PASSWORD);

    const ready = await fetch(`${baseUrl}/health/ready`);
    expect(ready.status).toBe(200);
    expect(((await ready.json()) as { details: Record<string, unknown> }).details.cache).toMatchObject({
      status: 'degraded',
      store: 'down',
    });
    const answer = await fetch(`${baseUrl}/v1/sentiment/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: ['served by the model'] }),
    });
    expect([answer.status, answer.headers.get('x-cache')]).toEqual([200, 'BYPASS']);
    // BullMQ rejects with no listener when its worker's connection is closed mid-handshake
    // (taskforcesh/bullmq#3546): close the app once its reconnects are refused outright instead.
    await cacheRedis.stop();
    await new Promise((resolve) => setTimeout(resolve, 300));
    await apps.splice(apps.indexOf(t), 1)[0].close();
  }, 30_000);
});
