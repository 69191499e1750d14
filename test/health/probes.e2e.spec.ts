import request from 'supertest';
import { setTimeout as sleep } from 'node:timers/promises';
import { ShutdownState } from '../../src/health/shutdown-state.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

type Server = ReturnType<TestApp['app']['getHttpServer']>;

describe('probes while the model loads, once it is ready, and during shutdown', () => {
  let t: TestApp;
  let server: Server;
  beforeAll(async () => {
    t = await startTestApp({}, { loadModel: false });
    server = t.app.getHttpServer();
  });
  afterAll(() => t.close());

  it('readiness is 503 with terminus JSON naming the model as loading; liveness is 200', async () => {
    const ready = await request(server).get('/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.headers['content-type']).toMatch(/^application\/json/);
    expect(ready.body).toEqual(
      expect.objectContaining({
        status: 'error',
        error: { model: { status: 'down', id: t.settings.modelId, state: 'loading' } },
        details: expect.objectContaining({ lifecycle: { status: 'up', state: 'serving' } }),
      }),
    );
    const live = await request(server).get('/health/live');
    expect(live.status).toBe(200);
    expect(live.body.status).toBe('ok');
  });

  it('readiness turns 200 once the model is loaded and warmed', async () => {
    await t.model.load();
    const ready = await request(server).get('/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual(
      expect.objectContaining({
        status: 'ok',
        details: {
          model: { status: 'up', id: t.model.requireInfo().id, state: 'ready' },
          lifecycle: { status: 'up', state: 'serving' },
          cache: { status: 'up', backend: 'memory', store: 'up' },
        },
      }),
    );
    expect(ready.headers['cache-control']).toMatch(/no-store/);
  });

  it('readiness is 503 again once shutdown begins, while liveness and the API keep answering', async () => {
    t.app.get(ShutdownState).begin();
    const ready = await request(server).get('/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.body.error).toEqual({ lifecycle: { status: 'down', state: 'draining' } });
    expect(ready.body.details.model.status).toBe('up');
    expect((await request(server).get('/health/live')).status).toBe(200);
    const predict = await request(server)
      .post('/v1/sentiment/predict')
      .send({ text: ['still serving'] });
    expect(predict.status).toBe(200);
    // Clients are asked to reconnect, so their next requests go to pods that are not stopping.
    expect(predict.headers.connection).toBe('close');
  });
});

describe('probes when the model cannot be loaded', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ MODEL_ID: 'nobody/no-such-model', MODEL_FALLBACK: 'none' }, { loadModel: false });
    await t.model.load();
  });
  afterAll(() => t.close());

  it('readiness is 503 with the failure reason; liveness stays 200 (a restart would not help)', async () => {
    expect(t.model.state).toBe('failed');
    const server = t.app.getHttpServer();
    const ready = await request(server).get('/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.body.error.model).toEqual({
      status: 'down',
      id: 'nobody/no-such-model',
      state: 'failed',
      failureReason: t.model.failureReason,
    });
    expect(ready.body.error.model.failureReason).toMatch(/not found/);
    const live = await request(server).get('/health/live');
    expect(live.status).toBe(200);
  });
});

describe('readiness while Redis is down', () => {
  let redis: RedisServer;
  let t: TestApp;
  beforeAll(async () => {
    redis = await startRedisServer({ own: true });
    t = await startTestApp({ REDIS_URL: redis.url });
  });
  afterAll(async () => {
    await t.close();
    await redis.stop();
  });

  it('stays 200: the cache indicator turns degraded, the pod keeps its traffic', async () => {
    const server = t.app.getHttpServer();
    const before = await request(server).get('/health/ready');
    expect(before.status).toBe(200);
    expect(before.body.details.cache).toEqual({ status: 'up', backend: 'redis', breaker: 'closed', store: 'up' });

    await redis.kill();
    let ready = before;
    for (let attempt = 0; attempt < 100 && ready.body.details.cache.status === 'up'; attempt++) {
      // Requests are what find out that Redis is gone.
      await request(server)
        .post('/v1/sentiment/predict')
        .send({ text: [`probe ${attempt}`] });
      ready = await request(server).get('/health/ready');
      await sleep(20);
    }
    expect(ready.status).toBe(200);
    expect(ready.body.status).toBe('degraded');
    // Disconnected: calls skip Redis without counting against the breaker, which stays closed.
    expect(ready.body.details.cache).toEqual({
      status: 'degraded',
      backend: 'redis',
      breaker: 'closed',
      store: 'down',
    });
  });
});

describe('probes in the OpenAPI document', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({}, { loadModel: false });
  });
  afterAll(() => t.close());

  it('documents both probes under the health tag, and leaves /metrics out', async () => {
    const document = (await request(t.app.getHttpServer()).get('/openapi.json')).body;
    expect(document.paths['/health/live'].get).toEqual(
      expect.objectContaining({ operationId: 'getLiveness', tags: ['health'], summary: expect.any(String) }),
    );
    expect(document.paths['/health/ready'].get).toEqual(
      expect.objectContaining({ operationId: 'getReadiness', tags: ['health'], summary: expect.any(String) }),
    );
    expect(Object.keys(document.paths['/health/ready'].get.responses)).toEqual(expect.arrayContaining(['200', '503']));
    expect(document.paths['/metrics']).toBeUndefined();
  });
});
