import { loadSettings, InvalidSettingError } from '../../src/config/settings.js';
import request from '../support/contract-request.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const PARTNER = 'https://partner.example.com';

describe('secure headers (helmet), default settings', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it.each([
    ['POST', '/v1/sentiment/predict', 200],
    ['POST', '/v1/sentiment/predict', 422],
    ['GET', '/health/live', 200],
    ['GET', '/metrics', 200],
    ['GET', '/docs', 200],
    ['GET', '/no/such/route', 404],
  ] as const)('%s %s (%i): helmet headers, a request id, no X-Powered-By', async (method, path, status) => {
    const call =
      method === 'POST' ? request(t.app.getHttpServer()).post(path) : request(t.app.getHttpServer()).get(path);
    const response = await (method === 'POST' ? call.send({ text: status === 200 ? ['I love you'] : [] }) : call);
    expect(response.status).toBe(status);
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['strict-transport-security']).toMatch(/max-age=\d+/);
    expect(response.headers['content-security-policy']).toMatch(/default-src 'self'/);
    expect(response.headers['x-frame-options']).toBe('SAMEORIGIN');
    expect(response.headers['x-request-id']).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
    expect(response.headers['x-powered-by']).toBeUndefined();
  });

  it('sends no CORS headers by default, even to a browser origin', async () => {
    const server = t.app.getHttpServer();
    const simple = await request(server).get('/v1/model').set('Origin', PARTNER);
    expect(simple.headers['access-control-allow-origin']).toBeUndefined();
    const preflight = await request(server)
      .options('/v1/sentiment/predict')
      .set('Origin', PARTNER)
      .set('Access-Control-Request-Method', 'POST');
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('CORS_ORIGINS allow-list', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ CORS_ORIGINS: `${PARTNER}, http://localhost:3000` });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('answers a listed origin’s preflight and exposes the documented headers', async () => {
    const server = t.app.getHttpServer();
    const preflight = await request(server)
      .options('/v1/sentiment/predict')
      .set('Origin', PARTNER)
      .set('Access-Control-Request-Method', 'POST')
      .set('Access-Control-Request-Headers', 'content-type,x-api-key');
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe(PARTNER);
    expect(preflight.headers['access-control-allow-headers']).toMatch(/X-API-Key/i);
    const response = await request(server)
      .post('/v1/sentiment/predict')
      .set('Origin', PARTNER)
      .send({ text: ['ok'] });
    expect(response.status).toBe(200);
    expect(response.headers['access-control-allow-origin']).toBe(PARTNER);
    expect(response.headers['access-control-expose-headers']).toMatch(/X-Request-Id/);
  });

  it('gives an origin not on the list no CORS headers', async () => {
    const response = await request(t.app.getHttpServer()).get('/v1/model').set('Origin', 'https://evil.example.com');
    expect(response.headers['access-control-allow-origin']).toBeUndefined();
  });

  it.each(['*', 'partner.example.com', 'https://partner.example.com/path', 'ftp://x.example.com'])(
    'rejects CORS_ORIGINS=%s, naming the variable',
    (value) => {
      expect(() => loadSettings({ CORS_ORIGINS: value })).toThrow(InvalidSettingError);
      expect(() => loadSettings({ CORS_ORIGINS: value })).toThrow(/CORS_ORIGINS/);
    },
  );
});
