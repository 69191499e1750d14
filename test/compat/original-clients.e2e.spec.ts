// The FastAPI original's own test suite (mlapi/tests/test_mlapi.py) sent exactly these requests;
// its clients keep working here by changing only the host. Responses are also checked against
// openapi.yaml (contract-request.ts).
import request from '../support/contract-request.js';
import { expectProblem } from '../support/problem-assertions.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { startTestApp } from '../support/test-app.js';

const BULK_PREDICT = '/project/bulk-predict';
const DEPRECATED_SINCE = '@1796083200'; // 2026-12-01T00:00:00Z

describe('the FastAPI original’s requests (built server, tiny baseline model)', () => {
  let built: ServerProcess;
  let server: string;

  beforeAll(async () => {
    built = await startServerProcess('original-clients');
    server = built.baseUrl;
  });
  afterAll(() => built?.stop());

  it('GET / is 404, /docs is HTML and /openapi.json is JSON', async () => {
    const root = await request(server).get('/');
    expectProblem(root, 404);
    const docs = await request(server).get('/docs');
    expect(docs.status).toBe(200);
    expect(docs.headers['content-type']).toContain('text/html');
    const openapi = await request(server).get('/openapi.json');
    expect(openapi.status).toBe(200);
    expect(openapi.headers['content-type']).toMatch(/^application\/json/);
  });

  it('GET /project/health says healthy, deprecated in favour of /health/ready', async () => {
    const response = await request(server).get('/project/health');
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ status: 'healthy' });
    expect(response.headers.deprecation).toBe(DEPRECATED_SINCE);
    expect(response.headers.link).toBe('</health/ready>; rel="successor-version"');
  });

  it('POST /project/bulk-predict answers the original’s two texts as /v1/sentiment/predict does', async () => {
    const body = { text: ['I hate you.', 'I love you.'] };
    const response = await request(server).post(BULK_PREDICT).send(body);
    expect(response.status).toBe(200);
    const predictions = response.body.predictions as { label: string; score: number }[][];
    for (const prediction of predictions) {
      for (const entry of prediction) expect(Object.keys(entry).sort()).toEqual(['label', 'score']);
    }
    expect(predictions[0].map((p) => p.label)).toEqual(['NEGATIVE', 'POSITIVE']);
    expect(predictions[1].map((p) => p.label)).toEqual(['POSITIVE', 'NEGATIVE']);
    expect(response.headers.deprecation).toBe(DEPRECATED_SINCE);
    expect(response.headers.link).toBe('</v1/sentiment/predict>; rel="successor-version"');

    const v1 = await request(server).post('/v1/sentiment/predict').send(body);
    expect(v1.body).toEqual(response.body);
    // The same cache: the v1 route's answer came from the entries the legacy route wrote.
    expect(v1.headers['x-cache']).toBe('HIT');
    expect(v1.headers.deprecation).toBeUndefined();
  });

  it('answers 1,000 texts in one request', async () => {
    const response = await request(server)
      .post(BULK_PREDICT)
      .send({ text: Array.from({ length: 1000 }, () => 'This is a test sentence.') });
    expect(response.status).toBe(200);
    expect(response.body.predictions).toHaveLength(1000);
    for (const prediction of response.body.predictions) {
      expect(Object.keys(prediction[0]).sort()).toEqual(['label', 'score']);
    }
  });

  it.each([
    ['an empty list', { text: [] }, 'must contain at least 1 text'],
    ['a string instead of a list', { text: 'This should be a list, not a string' }, 'must be an array of strings'],
    ['no text field', {}, 'is required'],
  ])('refuses %s with 422 naming the text field, deprecation headers included', async (_, body, message) => {
    const response = await request(server).post(BULK_PREDICT).send(body);
    expectProblem(response, 422);
    expect(response.body.detail).toEqual(expect.any(String));
    expect(response.body.errors).toContainEqual({ path: 'text', message });
    expect(response.headers.deprecation).toBe(DEPRECATED_SINCE);
  });
});

describe('the FastAPI original’s routes with API keys', () => {
  let built: ServerProcess;

  beforeAll(async () => {
    built = await startServerProcess('original-clients-keys', { API_KEYS: 'compat-key-0123456789abcdef' });
  });
  afterAll(() => built?.stop());

  it('bulk-predict needs a key as /v1 does; health stays open', async () => {
    const server = built.baseUrl;
    const refused = await request(server)
      .post(BULK_PREDICT)
      .send({ text: ['I love you.'] });
    expectProblem(refused, 401);
    expect(refused.headers.deprecation).toBe(DEPRECATED_SINCE);
    const allowed = await request(server)
      .post(BULK_PREDICT)
      .set('Authorization', 'Bearer compat-key-0123456789abcdef')
      .send({ text: ['I love you.'] });
    expect(allowed.status).toBe(200);
    expect((await request(server).get('/project/health')).status).toBe(200);
  });

  it('health answers 503 unhealthy when readiness would', async () => {
    const fresh = await startTestApp({}, { loadModel: false });
    try {
      const response = await request(fresh.app.getHttpServer()).get('/project/health');
      expect(response.status).toBe(503);
      expect(response.body).toEqual({ status: 'unhealthy' });
      expect((await request(fresh.app.getHttpServer()).get('/health/ready')).status).toBe(503);
    } finally {
      await fresh.close();
    }
  });
});
