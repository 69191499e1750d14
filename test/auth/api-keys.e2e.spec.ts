import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getModelInfo, predictSentiment } from '@sentiment-api/client';
import { PassThrough } from 'node:stream';
import { createJsonLogger } from '../../src/http/json-logger.js';
import { SentimentModel } from '../../src/model/sentiment-model.service.js';
import { loadSettings, InvalidSettingError } from '../../src/config/settings.js';
import { TEST_OUTPUT_DIR } from '../support/paths.js';
import { expectProblem } from '../support/problem-assertions.js';
import request from '../support/contract-request.js';
import { startTestApp, testSettings, type TestApp, createTestApp } from '../support/test-app.js';

// Two keys at once is how rotation works: the new key is added, clients move, the old one is removed.
const OLD_KEY = 'old-key-0123456789abcdef';
const NEW_KEY = 'new-key-fedcba9876543210';
const TEXTS = ['I love you'];

describe('API keys (API_KEYS) on the /v1 routes', () => {
  let t: TestApp;
  let server: ReturnType<TestApp['app']['getHttpServer']>;
  beforeAll(async () => {
    t = await startTestApp({ API_KEYS: `${OLD_KEY}, ${NEW_KEY}` });
    server = t.app.getHttpServer();
  });
  afterAll(async () => {
    await t?.close();
  });

  function expectUnauthorized(response: Parameters<typeof expectProblem>[0]): void {
    expectProblem(response, 401, TEXTS);
    expect(response.body.type).toBe('urn:sentiment-api:problem:unauthorized');
    expect(response.headers['www-authenticate']).toBe('Bearer realm="sentiment-api"');
    expect(response.text).not.toContain(OLD_KEY.slice(0, 8));
  }

  it.each([
    ['no key', {}],
    ['a wrong bearer key', { Authorization: 'Bearer not-a-valid-key-at-all' }],
    ['a wrong X-API-Key', { 'X-API-Key': 'not-a-valid-key-at-all' }],
    ['a valid key with another scheme', { Authorization: `Basic ${OLD_KEY}` }],
    ['a prefix of a valid key', { 'X-API-Key': OLD_KEY.slice(0, -1) }],
  ])('refuses predict with %s: 401 problem with WWW-Authenticate', async (_case, headers) => {
    expectUnauthorized(await request(server).post('/v1/sentiment/predict').set(headers).send({ text: TEXTS }));
  });

  it('refuses GET /v1/model without a key', async () => {
    expectUnauthorized(await request(server).get('/v1/model'));
  });

  it.each([
    ['Authorization: Bearer (old key)', { Authorization: `Bearer ${OLD_KEY}` }],
    ['Authorization: Bearer (new key)', { Authorization: `bearer ${NEW_KEY}` }],
    ['X-API-Key (old key)', { 'X-API-Key': OLD_KEY }],
    ['X-API-Key (new key)', { 'X-API-Key': NEW_KEY }],
  ])('accepts %s', async (_case, headers) => {
    const response = await request(server).post('/v1/sentiment/predict').set(headers).send({ text: TEXTS });
    expect(response.status).toBe(200);
    expect(response.body.predictions).toHaveLength(1);
    const info = await request(server).get('/v1/model').set(headers);
    expect(info.status).toBe(200);
  });

  it.each(['/health/live', '/health/ready', '/metrics', '/openapi.json', '/openapi.yaml', '/docs'])(
    'leaves %s open to callers without a key',
    async (path) => {
      const response = await request(server).get(path).redirects(1);
      expect(response.status).toBe(200);
    },
  );

  it('lets the generated SDK send the key (client `auth`)', async () => {
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const baseUrl = await t.app.getUrl();
    const predicted = await predictSentiment({ baseUrl, auth: NEW_KEY, body: { text: TEXTS } });
    expect(predicted.response.status).toBe(200);
    expect(predicted.data?.predictions).toHaveLength(1);
    const refused = await getModelInfo({ baseUrl });
    expect(refused.response.status).toBe(401);
  });
});

describe('logs with API keys configured', () => {
  it('never contain a key, whether accepted or refused, even at trace level', async () => {
    const lines: string[] = [];
    const stream = new PassThrough();
    stream.on('data', (chunk: Buffer) => lines.push(chunk.toString('utf8')));
    const settings = testSettings({ API_KEYS: OLD_KEY, LOG_LEVEL: 'trace' });
    const app = await createTestApp(settings, createJsonLogger('trace', stream));
    try {
      await app.get(SentimentModel).load();
      const server = app.getHttpServer();
      await request(server)
        .post('/v1/sentiment/predict')
        .set('Authorization', `Bearer ${OLD_KEY}`)
        .send({ text: TEXTS });
      await request(server).get('/v1/model').set('X-API-Key', OLD_KEY);
      await request(server).get('/v1/model').set('X-API-Key', NEW_KEY);
      await request(server).get('/v1/model').set('Authorization', `Bearer ${NEW_KEY}`);
    } finally {
      await app.close();
    }
    const log = lines.join('');
    expect(log).toMatch(/"statusCode":401/);
    expect(log).toMatch(/"statusCode":200/);
    expect(log).not.toContain(OLD_KEY);
    expect(log).not.toContain(NEW_KEY);
  });
});

describe('without API keys', () => {
  it('the /v1 routes stay open (keys are opt-in)', async () => {
    const t = await startTestApp();
    try {
      const response = await request(t.app.getHttpServer()).post('/v1/sentiment/predict').send({ text: TEXTS });
      expect(response.status).toBe(200);
    } finally {
      await t.close();
    }
  });
});

describe('API key settings', () => {
  const dir = join(TEST_OUTPUT_DIR, 'auth');
  beforeAll(() => mkdirSync(dir, { recursive: true }));

  it('reads comma-separated API_KEYS, trimmed and deduplicated', () => {
    expect(loadSettings({ API_KEYS: ` ${OLD_KEY} ,${NEW_KEY},${OLD_KEY},` }).apiKeys).toEqual([OLD_KEY, NEW_KEY]);
    expect(loadSettings({}).apiKeys).toEqual([]);
  });

  it('reads API_KEYS_FILE one key per line (a mounted Kubernetes Secret)', () => {
    const file = join(dir, 'keys');
    writeFileSync(file, `${OLD_KEY}\r\n\n${NEW_KEY}\n`);
    expect(loadSettings({ API_KEYS_FILE: file }).apiKeys).toEqual([OLD_KEY, NEW_KEY]);
  });

  it.each([
    ['a short key', { API_KEYS: 'short' }, 'API_KEYS'],
    ['a key with a space', { API_KEYS: 'has a space inside it 123' }, 'API_KEYS'],
    ['a missing file', { API_KEYS_FILE: join(dir, 'missing') }, 'API_KEYS_FILE'],
    ['both variables', { API_KEYS: OLD_KEY, API_KEYS_FILE: join(dir, 'keys') }, 'API_KEYS_FILE'],
  ])('rejects %s, naming the variable and never echoing a key', (_case, env, variable) => {
    let error: unknown;
    try {
      loadSettings(env);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InvalidSettingError);
    expect((error as InvalidSettingError).variable).toBe(variable);
    expect((error as Error).message).not.toContain('has a space');
    expect((error as Error).message).not.toContain(OLD_KEY);
  });
});
