import { getStorageToken } from '@nestjs/throttler';
import { RedisThrottlerStorage } from '../../src/rate-limit/redis-throttler-storage.js';
import type { RedisConnection } from '../../src/redis/redis-connection.js';
import { REDIS } from '../../src/redis/redis.module.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { expectProblem } from '../support/problem-assertions.js';
import request from '../support/contract-request.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { until } from '../support/until.js';

type Server = ReturnType<TestApp['app']['getHttpServer']>;

const TEXTS = ['I love you'];
const KEY_A = 'rate-limit-key-aaaaaaaaaaaa';
const KEY_B = 'rate-limit-key-bbbbbbbbbbbb';

function predict(server: Server, headers: Record<string, string> = {}) {
  return request(server).post('/v1/sentiment/predict').set(headers).send({ text: TEXTS });
}

function expectRateLimited(response: Parameters<typeof expectProblem>[0], limit: number): void {
  expectProblem(response, 429, TEXTS);
  expect(response.body.type).toBe('urn:sentiment-api:problem:rate-limited');
  const retryAfter = Number(response.headers['retry-after']);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(60);
  expect(response.headers['ratelimit-limit']).toBe(String(limit));
  expect(response.headers['ratelimit-remaining']).toBe('0');
  expect(Number(response.headers['ratelimit-reset'])).toBe(retryAfter);
}

describe('rate limit per client IP (no API keys, memory counters)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ RATE_LIMIT_PER_MINUTE: '3' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('counts every /v1 route in one budget, then answers 429 with Retry-After and RateLimit-*', async () => {
    const server = t.app.getHttpServer();
    const first = await predict(server);
    expect(first.status).toBe(200);
    expect(first.headers['ratelimit-limit']).toBe('3');
    expect(first.headers['ratelimit-remaining']).toBe('2');
    expect(Number(first.headers['ratelimit-reset'])).toBeGreaterThan(0);
    expect((await request(server).get('/v1/model')).headers['ratelimit-remaining']).toBe('1');
    expect((await predict(server)).headers['ratelimit-remaining']).toBe('0');
    expectRateLimited(await predict(server), 3);
    expectRateLimited(await request(server).get('/v1/model'), 3);
  });

  it.each(['/health/live', '/health/ready', '/metrics', '/openapi.json'])('never limits %s', async (path) => {
    for (let i = 0; i < 5; i++) {
      const response = await request(t.app.getHttpServer()).get(path);
      expect(response.status).toBe(200);
      expect(response.headers['ratelimit-limit']).toBeUndefined();
    }
  });
});

describe('rate limit per API key', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ RATE_LIMIT_PER_MINUTE: '2', API_KEYS: `${KEY_A},${KEY_B}` });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('gives each key its own budget; callers without a valid key get 401, not a share of it', async () => {
    const server = t.app.getHttpServer();
    for (let i = 0; i < 2; i++) expect((await predict(server, { 'X-API-Key': KEY_A })).status).toBe(200);
    expectRateLimited(await predict(server, { Authorization: `Bearer ${KEY_A}` }), 2);
    expect((await predict(server, { 'X-API-Key': KEY_B })).status).toBe(200);
    for (let i = 0; i < 4; i++)
      expect((await predict(server, { 'X-API-Key': 'wrong-key-0123456789abc' })).status).toBe(401);
    expect((await predict(server, { Authorization: `Bearer ${KEY_B}` })).status).toBe(200);
  });
});

describe('RATE_LIMIT_ENABLED=false', () => {
  it('never limits and sends no RateLimit headers', async () => {
    const t = await startTestApp({ RATE_LIMIT_PER_MINUTE: '1', RATE_LIMIT_ENABLED: 'false' });
    try {
      for (let i = 0; i < 3; i++) {
        const response = await predict(t.app.getHttpServer());
        expect(response.status).toBe(200);
        expect(response.headers['ratelimit-limit']).toBeUndefined();
      }
    } finally {
      await t.close();
    }
  });
});

describe('rate limit counters in Redis (REDIS_URL)', () => {
  let redis: RedisServer;
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    redis = await startRedisServer({ own: true });
    // This test is about what is counted where, not about timeouts (test/redis and test/chaos cover
    // those): a generous Redis timeout keeps a busy machine from sending a count to the local fallback.
    const env = { REDIS_URL: redis.url, RATE_LIMIT_PER_MINUTE: '4', CACHE_TIMEOUT_MS: '1000' };
    [a, b] = await Promise.all([startTestApp(env), startTestApp(env)]);
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await redis?.stop();
  });

  it('two replicas sharing one Redis share one limit', async () => {
    const [serverA, serverB] = [a.app.getHttpServer(), b.app.getHttpServer()];
    expect([a, b].map((t) => t.app.get(getStorageToken()))).toEqual([
      expect.any(RedisThrottlerStorage),
      expect.any(RedisThrottlerStorage),
    ]);
    // The Redis clients connect in the background; until then each replica counts alone.
    const connections = [a, b].map((t) => t.app.get<RedisConnection>(REDIS));
    await until(() => connections.every((connection) => connection.isUp()), 10_000);
    expect((await predict(serverA)).headers['ratelimit-remaining']).toBe('3');
    expect((await predict(serverB)).headers['ratelimit-remaining']).toBe('2');
    expect((await predict(serverA)).headers['ratelimit-remaining']).toBe('1');
    expect((await predict(serverB)).headers['ratelimit-remaining']).toBe('0');
    expectRateLimited(await predict(serverA), 4);
    expectRateLimited(await predict(serverB), 4);
  });
});
