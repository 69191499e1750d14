import { jest } from '@jest/globals';
import request from 'supertest';
import { CacheStats, type CacheOperation } from '../../src/cache/cache-stats.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { expectProblem } from '../support/problem-assertions.js';
import {
  classifiedTexts,
  expectSamePrediction,
  freshTexts,
  modelAnswers,
  PREDICT,
  predict,
  sleep,
  spyOnModel,
} from './cache-test-helpers.js';

describe('prediction cache, in-memory default (no REDIS_URL)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('answers a new text with MISS, then the same text with HIT and the same scores', async () => {
    const [text] = freshTexts(1);
    const [expected] = await modelAnswers(t.model, [text]);
    const first = await predict(t, [text]);
    expect(first.status).toBe(200);
    expect(first.cache).toBe('MISS');
    const spy = spyOnModel(t.model);
    try {
      const second = await predict(t, [text]);
      expect(second.status).toBe(200);
      expect(second.cache).toBe('HIT');
      expect(second.body.model).toBe(t.model.requireInfo().name);
      expect(spy).not.toHaveBeenCalled();
      expectSamePrediction(first.body.predictions[0], expected);
      expectSamePrediction(second.body.predictions[0], expected);
    } finally {
      spy.mockRestore();
    }
  });

  it('answers a mixed batch with PARTIAL, computing only the misses, in request order', async () => {
    const [a, b, c, d] = freshTexts(4);
    const expected = await modelAnswers(t.model, [a, c, b, d]);
    expect((await predict(t, [a, b])).cache).toBe('MISS');
    const spy = spyOnModel(t.model);
    try {
      const mixed = await predict(t, [a, c, b, d]);
      expect(mixed.status).toBe(200);
      expect(mixed.cache).toBe('PARTIAL');
      expect(classifiedTexts(spy)).toEqual([c, d].sort());
      expect(mixed.body.predictions).toHaveLength(4);
      mixed.body.predictions.forEach((prediction: never, i: number) => expectSamePrediction(prediction, expected[i]));
    } finally {
      spy.mockRestore();
    }
  });

  it('looks up and computes a text repeated inside one request once', async () => {
    const [e, f] = freshTexts(2);
    const spy = spyOnModel(t.model);
    try {
      const response = await predict(t, [e, e, f, e, f]);
      expect(response.cache).toBe('MISS');
      expect(classifiedTexts(spy)).toEqual([e, f].sort());
      const [pe, pe2, pf, pe3, pf2] = response.body.predictions;
      expect(pe2).toEqual(pe);
      expect(pe3).toEqual(pe);
      expect(pf2).toEqual(pf);
      expect(pe).not.toEqual(pf);
    } finally {
      spy.mockRestore();
    }
    expect((await predict(t, [f, e, f])).cache).toBe('HIT');
  });

  it('counts results per distinct text and reports every store call', async () => {
    const stats = t.app.get(CacheStats);
    const operations: CacheOperation[] = [];
    stats.onOperation((operation, seconds, ok) => {
      expect(seconds).toBeGreaterThanOrEqual(0);
      expect(ok).toBe(true);
      operations.push(operation);
    });
    const [g, h, i] = freshTexts(3);
    await predict(t, [g, h]);
    const before = stats.totals();
    await predict(t, [g, h, i, i]);
    const after = stats.totals();
    expect(after.hit - before.hit).toBe(2);
    expect(after.miss - before.miss).toBe(1);
    expect(after.error).toBe(before.error);
    expect(after.bypass).toBe(before.bypass);
    expect(operations).toEqual(['mget', 'mset', 'mget', 'mset']);
    expect(stats.backend).toBe('memory');
    expect(stats.isUp()).toBe(true);
  });

  it('leaves invalid bodies to the validation pipe even when their texts are cached', async () => {
    const [text] = freshTexts(1);
    expect((await predict(t, [text])).cache).toBe('MISS');
    const server = t.app.getHttpServer();
    const unknownField = await request(server)
      .post(PREDICT)
      .send({ text: [text], mood: 'happy' });
    expectProblem(unknownField, 422, [text]);
    expect(unknownField.headers['x-cache']).toBeUndefined();
    const withNumber = await request(server)
      .post(PREDICT)
      .send({ text: [text, 42] });
    expectProblem(withNumber, 422, [text]);
    const tooMany = await request(server)
      .post(PREDICT)
      .send({ text: Array.from({ length: t.settings.maxBatchSize + 1 }, () => text) });
    expectProblem(tooMany, 422);
  });

  it('reports the cache backend and TTL in GET /v1/model', async () => {
    const response = await request(t.app.getHttpServer()).get('/v1/model');
    expect(response.status).toBe(200);
    expect(response.body.cache).toEqual({ backend: 'memory', ttlSeconds: 3600 });
  });
});

describe('in-memory cache limits', () => {
  it('evicts the least recently used entries beyond CACHE_MAX_ENTRIES', async () => {
    const t = await startTestApp({ CACHE_MAX_ENTRIES: '3' });
    try {
      const [a, b, c, d] = freshTexts(4);
      for (const text of [a, b, c]) expect((await predict(t, [text])).cache).toBe('MISS');
      expect((await predict(t, [a])).cache).toBe('HIT');
      // Four entries for three places: b, now the least recently used, goes.
      expect((await predict(t, [d])).cache).toBe('MISS');
      expect((await predict(t, [a, c, d])).cache).toBe('HIT');
      expect((await predict(t, [b])).cache).toBe('MISS');
    } finally {
      await t.close();
    }
  });

  it('forgets an entry after CACHE_TTL_SECONDS', async () => {
    const t = await startTestApp({ CACHE_TTL_SECONDS: '60' });
    // An injected clock for the cache's ages: the LRU reads performance.now(), here the real time plus
    // what the test adds, so an entry ages by the test's word, not by how busy the machine is.
    const realNow = performance.now.bind(performance);
    let added = 0;
    const clock = jest.spyOn(performance, 'now').mockImplementation(() => realNow() + added);
    const advance = async (ms: number) => {
      added += ms;
      // The LRU reuses its last reading until its 1 ms timer clears it; that timer was set first, so it runs first.
      await sleep(2);
    };
    try {
      const [text] = freshTexts(1);
      expect((await predict(t, [text])).cache).toBe('MISS');
      expect((await predict(t, [text])).cache).toBe('HIT');
      await advance(30_000);
      expect((await predict(t, [text])).cache).toBe('HIT');
      await advance(31_000);
      expect((await predict(t, [text])).cache).toBe('MISS');
    } finally {
      clock.mockRestore();
      await t.close();
    }
  });
});

describe('prediction cache before the model is ready', () => {
  it('lets the handler answer 503, without an X-Cache header', async () => {
    const t = await startTestApp({}, { loadModel: false });
    try {
      const response = await request(t.app.getHttpServer())
        .post(PREDICT)
        .send({ text: ['I love you'] });
      expectProblem(response, 503, ['I love you']);
      expect(response.headers['x-cache']).toBeUndefined();
    } finally {
      await t.close();
    }
  });
});
