import { loadSettings, InvalidSettingError } from '../../src/config/settings.js';
import request from '../support/contract-request.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const PARTNER = 'https://partner.example.com';
const KEY = 'k'.repeat(32);

/** Helmet's headers and a request id; never X-Powered-By. */
function expectSecureHeaders(headers: Record<string, string | string[] | undefined>): void {
  expect(headers['x-content-type-options']).toBe('nosniff');
  expect(headers['strict-transport-security']).toMatch(/max-age=\d+/);
  expect(headers['content-security-policy']).toMatch(/default-src 'self'/);
  expect(headers['x-frame-options']).toBe('SAMEORIGIN');
  expect(headers['x-request-id']).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
  expect(headers['x-powered-by']).toBeUndefined();
}

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
    expectSecureHeaders(response.headers);
  });

  it('GET /v1/%6Dodel (400): a target refused at the edge carries them too', async () => {
    const response = await request(t.app.getHttpServer()).get('/v1/%6Dodel');
    expect(response.status).toBe(400);
    expectSecureHeaders(response.headers);
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

describe('secure headers on refusals at the edge (API keys, rate limit)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ API_KEYS: KEY, RATE_LIMIT_ENABLED: 'true', RATE_LIMIT_PER_MINUTE: '1' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('401 without a key, 429 past the limit: both carry them', async () => {
    const server = t.app.getHttpServer();
    const unauthorized = await request(server)
      .post('/v1/sentiment/predict')
      .send({ text: ['I love you'] });
    expect(unauthorized.status).toBe(401);
    expectSecureHeaders(unauthorized.headers);
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const response = await request(server)
        .post('/v1/sentiment/predict')
        .set('Authorization', `Bearer ${KEY}`)
        .send({ text: ['I love you'] });
      statuses.push(response.status);
      if (response.status === 429) expectSecureHeaders(response.headers);
    }
    expect(statuses).toContain(429);
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
