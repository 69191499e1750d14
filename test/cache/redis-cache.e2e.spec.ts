import { cp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createClient } from 'redis';
import request from 'supertest';
import { PredictionKeys } from '../../src/cache/cache-keys.js';
import { CacheStats } from '../../src/cache/cache-stats.js';
import { baselineModelId } from '../../src/baseline-model/write-baseline-model.js';
import { scorePrediction, type ModelOutput } from '../../src/model/label-scores.js';
import { TEST_MODELS_DIR, TEST_OUTPUT_DIR } from '../support/paths.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { until } from '../support/until.js';
import {
  classifiedTexts,
  expectSamePrediction,
  freshTexts,
  modelAnswers,
  predict,
  spyOnModel,
  waitForCache,
} from './cache-test-helpers.js';

// These tests are about what is cached, not about timeouts (test/chaos/redis-faults covers those): a
// generous timeout keeps a busy test machine from turning a slow answer into a BYPASS.
const SLOW_MACHINE_TIMEOUT_MS = '1000';

describe('prediction cache in Redis (real redis-server)', () => {
  let redis: RedisServer;
  let inspector: ReturnType<typeof createClient>;
  let t: TestApp;
  let fingerprint: string;
  const keys = new PredictionKeys();

  beforeAll(async () => {
    redis = await startRedisServer();
    inspector = createClient({ url: redis.url });
    await inspector.connect();
    t = await startTestApp({ REDIS_URL: redis.url, CACHE_TIMEOUT_MS: SLOW_MACHINE_TIMEOUT_MS });
    await waitForCache(t);
    fingerprint = t.model.requireInfo().fingerprint;
  });
  afterAll(async () => {
    await t?.close();
    await inspector?.disconnect();
    await redis?.stop();
  });

  it('answers MISS then HIT, and another app instance sharing the Redis hits too', async () => {
    const [text] = freshTexts(1);
    const [expected] = await modelAnswers(t.model, [text]);
    const first = await predict(t, [text]);
    expect(first.status).toBe(200);
    expect(first.cache).toBe('MISS');
    expect(await inspector.exists(keys.keyFor(fingerprint, text))).toBe(1);
    const second = await predict(t, [text]);
    expect(second.cache).toBe('HIT');
    expectSamePrediction(second.body.predictions[0], expected);

    // A second app has an empty process memory: its HIT can only come from Redis.
    const other = await startTestApp({ REDIS_URL: redis.url, CACHE_TIMEOUT_MS: SLOW_MACHINE_TIMEOUT_MS });
    try {
      await waitForCache(other);
      const spy = spyOnModel(other.model);
      const fromRedis = await predict(other, [text]);
      expect(fromRedis.cache).toBe('HIT');
      expect(fromRedis.body.model).toBe(other.model.requireInfo().name);
      expect(spy).not.toHaveBeenCalled();
      expectSamePrediction(fromRedis.body.predictions[0], expected);
    } finally {
      await other.close();
    }
  });

  it('answers PARTIAL for a mixed batch, sending only the distinct misses to the model, in order', async () => {
    const [a, b, c, d] = freshTexts(4);
    const expected = await modelAnswers(t.model, [d, a, c, b, c]);
    await predict(t, [a, b]);
    const spy = spyOnModel(t.model);
    try {
      const mixed = await predict(t, [d, a, c, b, c]);
      expect(mixed.cache).toBe('PARTIAL');
      expect(classifiedTexts(spy)).toEqual([c, d].sort());
      mixed.body.predictions.forEach((prediction: never, i: number) => expectSamePrediction(prediction, expected[i]));
    } finally {
      spy.mockRestore();
    }
    expect((await predict(t, [c, d, a])).cache).toBe('HIT');
  });

  it('stores the logits in label order and the token count, which answer exactly as the model did', async () => {
    const [text] = freshTexts(1);
    const answer = (await predict(t, [text])).body.predictions[0] as { label: string; score: number }[];
    const stored = JSON.parse((await inspector.get(keys.keyFor(fingerprint, text)))!) as ModelOutput;
    const { labels, scoreFunction } = t.model.requireInfo();
    expect(Object.keys(stored).sort()).toEqual(['logits', 'tokens']);
    expect(stored.tokens).toBe((await t.model.tokenize([text])).fullLengths[0]);
    expect(scorePrediction(stored.logits, labels, scoreFunction)).toEqual(answer);
  });

  it('never writes a raw text into Redis keys or values', async () => {
    const canary = `canary-${freshTexts(1)[0].split(' ')[2]}`;
    const texts = [`${canary} I love it`, `${canary} 我喜欢这个`, `${canary}`];
    await predict(t, texts);
    let seen = 0;
    for await (const key of inspector.scanIterator({ MATCH: 'sentiment:*', COUNT: 100 })) {
      seen += 1;
      expect(key).toMatch(/^sentiment:v2:[0-9a-f]{16}:[0-9a-f]{64}$/);
      const value = (await inspector.get(key)) ?? '';
      for (const fragment of [canary, 'love', '我喜欢']) {
        expect(key).not.toContain(fragment);
        expect(value).not.toContain(fragment);
      }
    }
    expect(seen).toBeGreaterThanOrEqual(texts.length);
  });

  it('keys by HMAC when CACHE_KEY_SECRET is set, so hashing a guess finds nothing', async () => {
    const secret = 'test-secret-of-enough-length';
    const keyed = await startTestApp({
      REDIS_URL: redis.url,
      CACHE_TIMEOUT_MS: SLOW_MACHINE_TIMEOUT_MS,
      CACHE_KEY_SECRET: secret,
    });
    try {
      await waitForCache(keyed);
      const [text] = freshTexts(1);
      expect((await predict(keyed, [text])).cache).toBe('MISS');
      expect(await inspector.exists(new PredictionKeys(secret).keyFor(fingerprint, text))).toBe(1);
      expect(await inspector.exists(keys.keyFor(fingerprint, text))).toBe(0);
      expect((await predict(keyed, [text])).cache).toBe('HIT');
    } finally {
      await keyed.close();
    }
  });

  it('sets CACHE_TTL_SECONDS on every entry, and Redis drops it after that', async () => {
    // Redis's clock cannot be injected: a TTL long enough that a busy machine still reads the
    // entries before they expire, and a wait for the expiry with a deadline well past it.
    const ttlSeconds = 3;
    const short = await startTestApp({
      REDIS_URL: redis.url,
      CACHE_TIMEOUT_MS: SLOW_MACHINE_TIMEOUT_MS,
      CACHE_TTL_SECONDS: String(ttlSeconds),
    });
    try {
      await waitForCache(short);
      const [a, b] = freshTexts(2);
      expect((await predict(short, [a, b])).cache).toBe('MISS');
      for (const text of [a, b]) {
        const ttl = await inspector.pTTL(keys.keyFor(fingerprint, text));
        expect(ttl).toBeGreaterThan(0);
        expect(ttl).toBeLessThanOrEqual(ttlSeconds * 1000);
      }
      expect((await predict(short, [a])).cache).toBe('HIT');
      await until(async () => (await inspector.exists(keys.keyFor(fingerprint, a))) === 0, ttlSeconds * 1000 + 10_000);
      expect((await predict(short, [a])).cache).toBe('MISS');
    } finally {
      await short.close();
    }
    const [c] = freshTexts(1);
    await predict(t, [c]);
    const ttl = await inspector.pTTL(keys.keyFor(fingerprint, c));
    expect(ttl).toBeGreaterThan(3590_000);
    expect(ttl).toBeLessThanOrEqual(3600_000);
  });

  it('misses when the model fingerprint changes (another revision never reads these entries)', async () => {
    // The same weights with one more doc string: a new revision of the ONNX file that still loads.
    const id = baselineModelId('tiny');
    const modelsDir = join(TEST_OUTPUT_DIR, 'cache-fingerprint-models');
    await rm(modelsDir, { recursive: true, force: true });
    await cp(join(TEST_MODELS_DIR, ...id.split('/')), join(modelsDir, ...id.split('/')), { recursive: true });
    const onnx = join(modelsDir, ...id.split('/'), 'onnx', 'model.onnx');
    const docString = Buffer.from('revision 2');
    await writeFile(onnx, Buffer.concat([await readFile(onnx), Buffer.from([0x32, docString.length]), docString]));

    const [text] = freshTexts(1);
    expect((await predict(t, [text])).cache).toBe('MISS');
    expect((await predict(t, [text])).cache).toBe('HIT');
    const revised = await startTestApp({
      REDIS_URL: redis.url,
      CACHE_TIMEOUT_MS: SLOW_MACHINE_TIMEOUT_MS,
      MODEL_DIR: modelsDir,
    });
    try {
      await waitForCache(revised);
      expect(revised.model.requireInfo().fingerprint).not.toBe(fingerprint);
      const answer = await predict(revised, [text]);
      expect(answer.cache).toBe('MISS');
      expect((await predict(revised, [text])).cache).toBe('HIT');
    } finally {
      await revised.close();
    }
  });

  it.each([
    ['not JSON', 'garbage{'],
    ['the wrong number of scores', '[1]'],
    ['scores that do not sum to 1', '[0.9,0.9]'],
    ['another shape', '{"POSITIVE":1}'],
  ])('treats a value that is %s as a miss and repairs it', async (_case, corrupt) => {
    const [text, neighbour] = freshTexts(2);
    const [expected] = await modelAnswers(t.model, [text]);
    await predict(t, [text, neighbour]);
    const key = keys.keyFor(fingerprint, text);
    await inspector.set(key, corrupt);
    const spy = spyOnModel(t.model);
    try {
      const answer = await predict(t, [neighbour, text]);
      expect(answer.status).toBe(200);
      expect(answer.cache).toBe('PARTIAL');
      expect(classifiedTexts(spy)).toEqual([text]);
      expectSamePrediction(answer.body.predictions[1], expected);
    } finally {
      spy.mockRestore();
    }
    expect(await inspector.get(key)).not.toBe(corrupt);
    expect(await inspector.pTTL(key)).toBeGreaterThan(0);
    const repaired = await predict(t, [text]);
    expect(repaired.cache).toBe('HIT');
    expectSamePrediction(repaired.body.predictions[0], expected);
  });

  it('reports the Redis backend in GET /v1/model and as up in the stats', async () => {
    const response = await request(t.app.getHttpServer()).get('/v1/model');
    expect(response.body.cache).toEqual({ backend: 'redis', ttlSeconds: 3600 });
    const stats = t.app.get(CacheStats);
    expect(stats.backend).toBe('redis');
    expect(stats.isUp()).toBe(true);
  });
});
