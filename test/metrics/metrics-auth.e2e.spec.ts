import { PassThrough } from 'node:stream';
import { createJsonLogger } from '../../src/http/json-logger.js';
import { SentimentModel } from '../../src/model/sentiment-model.service.js';
import request from '../support/contract-request.js';
import { expectProblem } from '../support/problem-assertions.js';
import { startTestApp, testSettings, type TestApp, createTestApp } from '../support/test-app.js';

const METRICS_KEY = 'metrics-key-0123456789abcdef';
const API_KEY = 'api-key-fedcba9876543210xyz';
const TEXTS = ['I love you'];

type Response = Parameters<typeof expectProblem>[0];

function expectUnauthorized(response: Response, realm: string): void {
  expectProblem(response, 401);
  expect(response.body.type).toBe('urn:sentiment-api:problem:unauthorized');
  expect(response.headers['www-authenticate']).toBe(`Bearer realm="${realm}"`);
  expect(response.text).not.toContain('sentiment_ready');
  for (const key of [METRICS_KEY, API_KEY]) expect(response.text).not.toContain(key.slice(0, 12));
}

describe('METRICS_API_KEY on GET /metrics (with API_KEYS on /v1)', () => {
  let t: TestApp;
  let server: ReturnType<TestApp['app']['getHttpServer']>;
  beforeAll(async () => {
    t = await startTestApp({ METRICS_API_KEY: METRICS_KEY, API_KEYS: API_KEY });
    server = t.app.getHttpServer();
  });
  afterAll(async () => {
    await t?.close();
  });

  it.each([
    ['no key', {}],
    ['a wrong bearer key', { Authorization: 'Bearer not-the-metrics-key-at-all' }],
    ['a wrong X-API-Key', { 'X-API-Key': 'not-the-metrics-key-at-all' }],
    ['the metrics key with another scheme', { Authorization: `Basic ${METRICS_KEY}` }],
    ['a prefix of the metrics key', { Authorization: `Bearer ${METRICS_KEY.slice(0, -1)}` }],
    ['an API key as bearer', { Authorization: `Bearer ${API_KEY}` }],
    ['an API key as X-API-Key', { 'X-API-Key': API_KEY }],
  ])('refuses a scrape with %s: 401 problem with WWW-Authenticate', async (_case, headers) => {
    expectUnauthorized(await request(server).get('/metrics').set(headers), 'metrics');
  });

  it.each([
    ['Authorization: Bearer (what Prometheus sends)', { Authorization: `Bearer ${METRICS_KEY}` }],
    ['Authorization: bearer, lower case', { Authorization: `bearer ${METRICS_KEY}` }],
    ['X-API-Key', { 'X-API-Key': METRICS_KEY }],
  ])('serves the metrics with the key as %s', async (_case, headers) => {
    const response = await request(server).get('/metrics').set(headers);
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(response.text).toMatch(/^sentiment_ready 1$/m);
  });

  it.each([
    ['Authorization: Bearer', { Authorization: `Bearer ${METRICS_KEY}` }],
    ['X-API-Key', { 'X-API-Key': METRICS_KEY }],
  ])('does not open the /v1 routes to the metrics key as %s', async (_case, headers) => {
    expectUnauthorized(await request(server).get('/v1/model').set(headers), 'sentiment-api');
    const predict = await request(server).post('/v1/sentiment/predict').set(headers).send({ text: TEXTS });
    expectUnauthorized(predict, 'sentiment-api');
    expect((await request(server).get('/v1/model').set('X-API-Key', API_KEY)).status).toBe(200);
  });

  it.each(['/health/live', '/health/ready'])('leaves %s open without any key', async (path) => {
    expect((await request(server).get(path)).status).toBe(200);
  });
});

describe('logs with a metrics key configured', () => {
  it('never contain the key, whether a scrape is accepted or refused, even at trace level', async () => {
    const lines: string[] = [];
    const stream = new PassThrough();
    stream.on('data', (chunk: Buffer) => lines.push(chunk.toString('utf8')));
    const wrongKey = `${METRICS_KEY}-wrong`;
    const app = await createTestApp(
      testSettings({ METRICS_API_KEY: METRICS_KEY, LOG_LEVEL: 'trace' }),
      createJsonLogger('trace', stream),
    );
    try {
      await app.get(SentimentModel).load();
      const server = app.getHttpServer();
      const statuses = [
        (await request(server).get('/metrics').set('Authorization', `Bearer ${METRICS_KEY}`)).status,
        (await request(server).get('/metrics').set('X-API-Key', METRICS_KEY)).status,
        (await request(server).get('/metrics').set('Authorization', `Bearer ${wrongKey}`)).status,
      ];
      expect(statuses).toEqual([200, 200, 401]);
    } finally {
      await app.close();
    }
    const log = lines.join('');
    expect(log).toMatch(/"path":"\/metrics"/);
    expect(log).toMatch(/"statusCode":401/);
    expect(log).not.toContain(METRICS_KEY);
  });
});
