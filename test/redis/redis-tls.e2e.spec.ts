import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { AddressInfo } from 'node:net';
import { JobClient, ndjson } from '../jobs/job-client.js';
import { freePort, startRedisServer, type RedisServer } from '../support/redis-server.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { makeTestCertificates, redisTlsArgs, type TestCertificates } from '../support/tls-certificates.js';
import { until } from '../support/until.js';
import { startLoggedApp, type LoggedApp } from './logged-app.js';

const KEY = 'tls-test-api-key-0123456789abcdef';
const JOB_TEXTS = 60;
/** Low enough that the test reaches it, high enough for the other tests' requests. */
const LIMIT = 40;

interface TlsRedis {
  readonly server: RedisServer;
  readonly url: string;
}

/** A redis-server answering TLS on its own port; its plain port stays for nothing but start-up. */
async function startTlsRedis(options: Parameters<typeof redisTlsArgs>[1]): Promise<TlsRedis> {
  const tlsPort = await freePort();
  const server = await startRedisServer({
    own: true,
    config: ['--save', '', '--appendonly', 'no', ...redisTlsArgs(tlsPort, options)],
  });
  return { server, url: `rediss://127.0.0.1:${tlsPort}` };
}

async function listen(t: LoggedApp): Promise<string> {
  await t.app.listen(0, '127.0.0.1');
  return `http://127.0.0.1:${(t.app.getHttpServer().address() as AddressInfo).port}`;
}

async function predict(baseUrl: string, text: string): Promise<Response> {
  return fetch(`${baseUrl}/v1/sentiment/predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
    body: JSON.stringify({ text: [text] }),
  });
}

async function runJob(baseUrl: string): Promise<void> {
  const jobs = new JobClient(baseUrl, KEY);
  const texts = Array.from({ length: JOB_TEXTS }, (_, i) => `${i % 2 ? 'awful' : 'wonderful'} tls text ${i}`);
  const submitted = await jobs.submit(ndjson(texts));
  expect(submitted.status).toBe(202);
  const { id } = (await submitted.json()) as { id: string };
  expect(await jobs.waitForEnd(id, 60_000)).toMatchObject({ state: 'completed', textsDone: JOB_TEXTS });
  expect(await jobs.resultLines(id)).toHaveLength(JOB_TEXTS);
}

/**
 * `rediss://` against Debian's redis-server with a CA this test generates: the cache, the rate
 * limits and bulk jobs work over TLS (one-way and mutual), the CA given by REDIS_TLS_CA_FILE or,
 * to a server process, by NODE_EXTRA_CA_CERTS alone; a server certificate from another CA is
 * refused, said once per Redis role, and the service keeps serving from the model.
 */
describe('Redis over TLS', () => {
  let certs: TestCertificates;
  const servers: RedisServer[] = [];
  const apps: LoggedApp[] = [];

  const tlsRedis = async (options: Parameters<typeof redisTlsArgs>[1]) => {
    const redis = await startTlsRedis(options);
    servers.push(redis.server);
    return redis;
  };
  const app = async (env: Record<string, string>) => {
    const t = await startLoggedApp({
      API_KEYS: KEY,
      RATE_LIMIT_PER_MINUTE: String(LIMIT),
      JOB_CHUNK_TEXTS: '20',
      ...env,
    });
    apps.push(t);
    return t;
  };

  beforeAll(() => {
    certs = makeTestCertificates('redis-tls');
  });
  afterAll(async () => {
    await Promise.all(apps.map((t) => t.close()));
    await Promise.all(servers.map((server) => server.stop()));
    certs?.remove();
  });

  describe('with the CA in REDIS_TLS_CA_FILE', () => {
    let a: string;
    let b: string;

    beforeAll(async () => {
      const redis = await tlsRedis({ cert: certs.serverCertFile, key: certs.serverKeyFile, ca: certs.caFile });
      const env = { REDIS_URL: redis.url, REDIS_TLS_CA_FILE: certs.caFile };
      [a, b] = await Promise.all([app(env).then(listen), app(env).then(listen)]);
    });

    it('shares cache entries between replicas', async () => {
      expect((await predict(a, 'a text cached over tls')).headers.get('x-cache')).toBe('MISS');
      const hit = await predict(b, 'a text cached over tls');
      expect([hit.status, hit.headers.get('x-cache')]).toEqual([200, 'HIT']);
    });

    it('counts rate limits in Redis, across replicas', async () => {
      const statuses: number[] = [];
      // Both replicas together reach the one budget of the key (the test before spent 2 of it).
      for (let i = 0; i < LIMIT; i++) statuses.push((await predict(i % 2 ? a : b, 'limited')).status);
      expect(statuses.filter((status) => status === 200)).toHaveLength(LIMIT - 2);
      expect(statuses.slice(-2)).toEqual([429, 429]);
    });
  });

  it('runs a bulk job, and the cache, with mutual TLS (REDIS_TLS_CERT_FILE / REDIS_TLS_KEY_FILE)', async () => {
    const redis = await tlsRedis({
      cert: certs.serverCertFile,
      key: certs.serverKeyFile,
      ca: certs.caFile,
      authClients: true,
    });
    const baseUrl = await listen(
      await app({
        REDIS_URL: redis.url,
        REDIS_TLS_CA_FILE: certs.caFile,
        REDIS_TLS_CERT_FILE: certs.clientCertFile,
        REDIS_TLS_KEY_FILE: certs.clientKeyFile,
      }),
    );
    expect((await predict(baseUrl, 'mutual tls text')).headers.get('x-cache')).toBe('MISS');
    expect((await predict(baseUrl, 'mutual tls text')).headers.get('x-cache')).toBe('HIT');
    await runJob(baseUrl);
  }, 90_000);

  it('trusts a CA from NODE_EXTRA_CA_CERTS alone (read by Node at process start)', async () => {
    const redis = await tlsRedis({ cert: certs.serverCertFile, key: certs.serverKeyFile, ca: certs.caFile });
    let server: ServerProcess | undefined;
    try {
      server = await startServerProcess('redis-tls-extra-ca', {
        REDIS_URL: redis.url,
        NODE_EXTRA_CA_CERTS: certs.caFile,
        API_KEYS: KEY,
        JOB_CHUNK_TEXTS: '20',
      });
      const baseUrl = server.baseUrl;
      await until(async () => (await predict(baseUrl, 'extra ca text')).headers.get('x-cache') === 'HIT', 10_000);
      await runJob(baseUrl);
    } finally {
      await server?.stop();
    }
  }, 90_000);

  it('refuses a server certificate from another CA: one line per Redis role, not ready for Redis, predictions served', async () => {
    const redis = await tlsRedis({
      cert: certs.otherServerCertFile,
      key: certs.otherServerKeyFile,
      ca: certs.otherCaFile,
    });
    const t = await app({ REDIS_URL: redis.url, REDIS_TLS_CA_FILE: certs.caFile });
    const baseUrl = await listen(t);
    const refused = () => t.logged(/certificate/);
    await until(() => new Set(refused().map(({ role }) => role)).size === 4, 15_000);
    // Several reconnect attempts later (100, 200, 400, 800 ms …), still one line per role.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(
      refused()
        .map(({ role }) => role)
        .sort(),
    ).toEqual(['cache', 'jobs-queue', 'jobs-store', 'jobs-worker']);
    for (const { msg } of refused())
      expect(msg).toMatch(/^redis \((cache|jobs-store|jobs-queue|jobs-worker)\) TLS certificate refused/);
    expect(t.lines.join('\n')).not.toContain(redis.url);

    const ready = await fetch(`${baseUrl}/health/ready`);
    expect(ready.status).toBe(200);
    expect(((await ready.json()) as { details: Record<string, unknown> }).details.cache).toMatchObject({
      status: 'degraded',
      store: 'down',
    });
    const answer = await predict(baseUrl, 'served by the model');
    expect([answer.status, answer.headers.get('x-cache')]).toEqual([200, 'BYPASS']);
    const job = await new JobClient(baseUrl, KEY).submit(ndjson(['a job with no Redis']));
    expect(job.status).toBe(503);
    // BullMQ rejects with no listener when its worker's connection is closed mid-handshake
    // (taskforcesh/bullmq#3546): close the app once its reconnects are refused outright instead.
    await redis.server.stop();
    await new Promise((resolve) => setTimeout(resolve, 300));
    await apps.splice(apps.indexOf(t), 1)[0].close();
  }, 30_000);
});
