import request from 'supertest';
import { randomUUID } from 'node:crypto';
import { ShutdownState } from '../../src/health/shutdown-state.js';
import { parseExposition, sumOf, type Exposition } from '../support/prometheus-text.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

type Server = ReturnType<TestApp['app']['getHttpServer']>;

const PREDICT = '/v1/sentiment/predict';

async function scrape(server: Server): Promise<Exposition> {
  const response = await request(server).get('/metrics');
  expect(response.status).toBe(200);
  expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseExposition(response.text);
}

describe('GET /metrics (real app, tiny baseline model, in-memory cache)', () => {
  let t: TestApp;
  let server: Server;
  beforeAll(async () => {
    t = await startTestApp();
    server = t.app.getHttpServer();
  });
  afterAll(() => t.close());

  it('exposes every documented metric with its type, and the process metrics', async () => {
    const { types } = await scrape(server);
    expect(Object.fromEntries([...types].filter(([name]) => name.startsWith('sentiment_')))).toEqual({
      sentiment_http_requests_total: 'counter',
      sentiment_http_request_duration_seconds: 'histogram',
      sentiment_model_calls_total: 'counter',
      sentiment_model_call_failures_total: 'counter',
      sentiment_model_batch_size: 'histogram',
      sentiment_model_call_duration_seconds: 'histogram',
      sentiment_texts_total: 'counter',
      sentiment_model_load_duration_seconds: 'gauge',
      sentiment_model_info: 'gauge',
      sentiment_ready: 'gauge',
      sentiment_cache_requests_total: 'counter',
      sentiment_cache_operation_duration_seconds: 'histogram',
      sentiment_model_tokens_total: 'counter',
      sentiment_model_worker_restarts_total: 'counter',
      sentiment_redis_breaker_state: 'gauge',
      sentiment_redis_breaker_transitions_total: 'counter',
      sentiment_queue_depth: 'gauge',
      sentiment_queue_tokens: 'gauge',
      sentiment_queue_capacity_tokens: 'gauge',
      sentiment_admissions_total: 'counter',
      sentiment_queue_drops_total: 'counter',
    });
    expect(types.get('process_cpu_seconds_total')).toBe('counter');
    expect(types.get('process_resident_memory_bytes')).toBe('gauge');
    expect(types.get('nodejs_heap_size_used_bytes')).toBe('gauge');
    expect(types.get('nodejs_eventloop_lag_p99_seconds')).toBe('gauge');
    expect(types.get('nodejs_gc_duration_seconds')).toBe('histogram');
  });

  it('counts requests by method, route template and status, and never counts /metrics', async () => {
    const before = await scrape(server);
    for (let i = 0; i < 3; i++) {
      await request(server)
        .post(PREDICT)
        .send({ text: [`counted ${i}`] })
        .expect(200);
    }
    await request(server).post(PREDICT).send({ text: 'not a list' }).expect(422);
    await request(server).get('/v1/model?verbose=1&id=42').expect(200);
    await request(server).get('/v1/no-such-route/12345').expect(404);
    await scrape(server);
    const after = await scrape(server);

    const delta = (labels: Record<string, string>) =>
      sumOf(after, 'sentiment_http_requests_total', labels) - sumOf(before, 'sentiment_http_requests_total', labels);
    expect(delta({ method: 'POST', route: PREDICT, status: '200' })).toBe(3);
    expect(delta({ method: 'POST', route: PREDICT, status: '422' })).toBe(1);
    expect(delta({ method: 'GET', route: '/v1/model', status: '200' })).toBe(1);
    expect(delta({ method: 'GET', route: 'unmatched', status: '404' })).toBe(1);

    const routes = new Set(
      after.samples.filter((s) => s.name.startsWith('sentiment_http_')).map((s) => s.labels.route),
    );
    // Templates only: no query strings, no unknown paths, no /metrics.
    expect([...routes].sort()).toEqual(['/v1/model', PREDICT, 'unmatched'].sort());

    const predictOk = { method: 'POST', route: PREDICT, status: '200' };
    expect(sumOf(after, 'sentiment_http_request_duration_seconds_count', predictOk)).toBe(
      sumOf(after, 'sentiment_http_requests_total', predictOk),
    );
    const buckets = after.samples
      .filter((s) => s.name === 'sentiment_http_request_duration_seconds_bucket' && s.labels.route === PREDICT)
      .map((s) => s.labels.le);
    expect(buckets).toEqual(expect.arrayContaining(['0.001', '10', '+Inf']));
  });

  it('counts model calls, batch sizes and texts by source (model first, then cache)', async () => {
    const texts = Array.from({ length: 7 }, (_, i) => `fresh text ${i} ${randomUUID()} was wonderful`);
    const before = await scrape(server);
    await request(server).post(PREDICT).send({ text: texts }).expect(200);
    const afterModel = await scrape(server);
    const diff = (from: Exposition, to: Exposition, name: string, labels: Record<string, string> = {}) =>
      sumOf(to, name, labels) - sumOf(from, name, labels);

    const calls = diff(before, afterModel, 'sentiment_model_calls_total');
    expect(calls).toBeGreaterThanOrEqual(1);
    expect(diff(before, afterModel, 'sentiment_model_batch_size_count')).toBe(calls);
    expect(diff(before, afterModel, 'sentiment_model_batch_size_sum')).toBe(texts.length);
    expect(diff(before, afterModel, 'sentiment_model_call_duration_seconds_count')).toBe(calls);
    expect(diff(before, afterModel, 'sentiment_model_call_duration_seconds_sum')).toBeGreaterThan(0);
    expect(diff(before, afterModel, 'sentiment_texts_total', { source: 'model' })).toBe(texts.length);
    expect(diff(before, afterModel, 'sentiment_cache_requests_total', { result: 'miss' })).toBe(texts.length);
    expect(diff(before, afterModel, 'sentiment_admissions_total', { outcome: 'admitted' })).toBe(1);
    const realTokens = diff(before, afterModel, 'sentiment_model_tokens_total', { kind: 'real' });
    const paddedTokens = diff(before, afterModel, 'sentiment_model_tokens_total', { kind: 'padded' });
    expect(realTokens).toBeGreaterThanOrEqual(texts.length * 3); // [CLS] + a word + [SEP] at least
    expect(paddedTokens).toBeGreaterThanOrEqual(realTokens);

    await request(server).post(PREDICT).send({ text: texts }).expect(200);
    const afterCache = await scrape(server);
    expect(diff(afterModel, afterCache, 'sentiment_model_calls_total')).toBe(0);
    expect(diff(afterModel, afterCache, 'sentiment_texts_total', { source: 'cache' })).toBe(texts.length);
    expect(diff(afterModel, afterCache, 'sentiment_cache_requests_total', { result: 'hit' })).toBe(texts.length);
    expect(
      diff(before, afterCache, 'sentiment_cache_operation_duration_seconds_count', { operation: 'mget' }),
    ).toBeGreaterThanOrEqual(2);
    for (const result of ['hit', 'miss', 'error', 'bypass']) {
      expect(afterCache.samples).toContainEqual(
        expect.objectContaining({ name: 'sentiment_cache_requests_total', labels: { result } }),
      );
    }
  });

  it('describes the served model and the idle queue, and readiness as 1 until shutdown begins', async () => {
    const info = t.model.requireInfo();
    const metrics = await scrape(server);
    expect(metrics.samples).toContainEqual({
      name: 'sentiment_model_info',
      labels: { id: info.id, source: info.source, dtype: info.dtype, fingerprint: info.fingerprint },
      value: 1,
    });
    expect(sumOf(metrics, 'sentiment_model_load_duration_seconds')).toBeCloseTo(info.loadTimeMs / 1000, 6);
    expect(sumOf(metrics, 'sentiment_ready')).toBe(1);
    expect(sumOf(metrics, 'sentiment_queue_depth')).toBe(0);
    expect(sumOf(metrics, 'sentiment_queue_capacity_tokens')).toBe(t.settings.queueMaxTokens);

    t.app.get(ShutdownState).begin();
    expect(sumOf(await scrape(server), 'sentiment_ready')).toBe(0);
  });
});

describe('GET /metrics before the model is loaded (a second app in the same process)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({}, { loadModel: false });
  });
  afterAll(() => t.close());

  it('reports not ready, no model info, and counts from zero', async () => {
    const metrics = await scrape(t.app.getHttpServer());
    expect(sumOf(metrics, 'sentiment_ready')).toBe(0);
    expect(metrics.samples.filter((s) => s.name === 'sentiment_model_info')).toEqual([]);
    expect(sumOf(metrics, 'sentiment_model_load_duration_seconds')).toBe(0);
    expect(sumOf(metrics, 'sentiment_model_calls_total')).toBe(0);
    expect(sumOf(metrics, 'sentiment_http_requests_total')).toBe(0);
  });
});

describe('GET /metrics of two apps open at once in one process', () => {
  let apps: TestApp[];
  beforeAll(async () => {
    apps = await Promise.all([startTestApp({}, { loadModel: false }), startTestApp({}, { loadModel: false })]);
  });
  afterAll(() => Promise.all(apps.map((t) => t.close())));

  it('gives each app a registry of its own: each counts only its own requests, and each has the process metrics', async () => {
    const [first, second] = apps.map((t) => t.app.getHttpServer());
    for (let i = 0; i < 3; i++) await request(first).get('/v1/model').expect(503);
    await request(second).get('/v1/model').expect(503);
    const notReady = { method: 'GET', route: '/v1/model', status: '503' };
    const [one, two] = await Promise.all([scrape(first), scrape(second)]);
    expect(sumOf(one, 'sentiment_http_requests_total', notReady)).toBe(3);
    expect(sumOf(two, 'sentiment_http_requests_total', notReady)).toBe(1);
    for (const metrics of [one, two]) expect(metrics.types.get('process_cpu_seconds_total')).toBe('counter');
  });
});
