import { createClient } from 'redis';
import request from 'supertest';
import { callerOf } from '../../src/auth/caller.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { startTestApp, testSettings, type TestApp } from '../support/test-app.js';
import { freshTexts, PREDICT, waitForCache } from './cache-test-helpers.js';

const KEY_A = 'tenant-a-key-0123456789abcdef';
const KEY_B = 'tenant-b-key-fedcba9876543210';
const SECRET = 'cache-key-secret-for-tenant-tests';
const SLOW_MACHINE_TIMEOUT_MS = '1000';

async function predictAs(t: TestApp, key: string, texts: string[]) {
  const response = await request(t.app.getHttpServer()).post(PREDICT).set('X-API-Key', key).send({ text: texts });
  expect(response.status).toBe(200);
  return response.headers['x-cache'];
}

describe('callerOf', () => {
  const settings = testSettings({ API_KEYS: `${KEY_A},${KEY_B}` });

  it('gives each key its own stable identity that does not contain the key, its cache scope and flow', () => {
    const a = callerOf(KEY_A, settings);
    expect(a.identity).toMatch(/^[0-9a-f]{32}$/);
    expect(a).toEqual({ identity: a.identity, cacheScope: a.identity, flow: a.identity });
    expect(callerOf(KEY_A, settings)).toEqual(a);
    expect(callerOf(KEY_B, settings).identity).not.toBe(a.identity);
    expect(a.identity).not.toContain(KEY_A.slice(0, 8));
  });

  it('depends on CACHE_KEY_SECRET when one is set', () => {
    const keyed = testSettings({ API_KEYS: KEY_A, CACHE_KEY_SECRET: SECRET });
    expect(callerOf(KEY_A, keyed).identity).not.toBe(callerOf(KEY_A, settings).identity);
  });

  it('is anonymous without API keys or without a key; shares the cache, not the flow, with CACHE_SCOPE=shared', () => {
    expect(callerOf(KEY_A, testSettings())).toEqual({});
    expect(callerOf(undefined, settings)).toEqual({});
    const shared = callerOf(KEY_A, testSettings({ API_KEYS: KEY_A, CACHE_SCOPE: 'shared' }));
    expect(shared.cacheScope).toBeUndefined();
    expect(shared.flow).toBe(shared.identity);
    expect(shared.identity).toMatch(/^[0-9a-f]{32}$/);
  });
});

describe.each([
  ['in-memory cache', false],
  ['Redis cache', true],
])('cache scope with API keys, %s', (_backend, withRedis) => {
  let redis: RedisServer | undefined;
  const apps: TestApp[] = [];

  beforeAll(async () => {
    if (withRedis) redis = await startRedisServer();
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    await redis?.stop();
  });

  async function app(scope?: 'shared'): Promise<TestApp> {
    const t = await startTestApp({
      API_KEYS: `${KEY_A},${KEY_B}`,
      ...(scope ? { CACHE_SCOPE: scope } : {}),
      ...(redis ? { REDIS_URL: redis.url, CACHE_KEY_SECRET: SECRET, CACHE_TIMEOUT_MS: SLOW_MACHINE_TIMEOUT_MS } : {}),
    });
    apps.push(t);
    await waitForCache(t);
    return t;
  }

  it("by default, key B gets MISS for key A's text, then its own HIT", async () => {
    const t = await app();
    const texts = freshTexts(2, 'tenant');
    expect(await predictAs(t, KEY_A, texts)).toBe('MISS');
    expect(await predictAs(t, KEY_A, texts)).toBe('HIT');
    expect(await predictAs(t, KEY_B, texts)).toBe('MISS');
    expect(await predictAs(t, KEY_B, texts)).toBe('HIT');
  });

  it("with CACHE_SCOPE=shared, key B hits key A's text", async () => {
    const t = await app('shared');
    const texts = freshTexts(2, 'shared');
    expect(await predictAs(t, KEY_A, texts)).toBe('MISS');
    expect(await predictAs(t, KEY_B, texts)).toBe('HIT');
  });

  if (withRedis) {
    it('stores tenant entries under the tenant id, never under the API key', async () => {
      const inspector = createClient({ url: redis!.url });
      await inspector.connect();
      try {
        const keys = await inspector.keys('sentiment:*');
        expect(keys.length).toBeGreaterThan(0);
        for (const key of keys) {
          expect(key).not.toContain(KEY_A.slice(0, 8));
          expect(key).not.toContain(KEY_B.slice(0, 8));
        }
        const tenantA = callerOf(KEY_A, apps[0].settings).cacheScope!;
        expect(keys.some((key) => key.includes(`:t:${tenantA}:`))).toBe(true);
      } finally {
        await inspector.disconnect();
      }
    });
  }
});
