import { createClient } from 'redis';
import request from 'supertest';
import { tenantOf } from '../../src/auth/tenant.js';
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

describe('tenantOf', () => {
  const settings = testSettings({ API_KEYS: `${KEY_A},${KEY_B}` });

  it('gives each key its own stable id that does not contain the key', () => {
    const a = tenantOf(KEY_A, settings);
    expect(a).toMatch(/^[0-9a-f]{32}$/);
    expect(tenantOf(KEY_A, settings)).toBe(a);
    expect(tenantOf(KEY_B, settings)).not.toBe(a);
    expect(a).not.toContain(KEY_A.slice(0, 8));
  });

  it('depends on CACHE_KEY_SECRET when one is set', () => {
    const keyed = testSettings({ API_KEYS: KEY_A, CACHE_KEY_SECRET: SECRET });
    expect(tenantOf(KEY_A, keyed)).not.toBe(tenantOf(KEY_A, settings));
  });

  it('has no tenant without API keys, without a key, or with CACHE_SCOPE=shared', () => {
    expect(tenantOf(KEY_A, testSettings())).toBeUndefined();
    expect(tenantOf(undefined, settings)).toBeUndefined();
    expect(tenantOf(KEY_A, testSettings({ API_KEYS: KEY_A, CACHE_SCOPE: 'shared' }))).toBeUndefined();
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
        const tenantA = tenantOf(KEY_A, apps[0].settings)!;
        expect(keys.some((key) => key.includes(`:t:${tenantA}:`))).toBe(true);
      } finally {
        await inspector.disconnect();
      }
    });
  }
});
