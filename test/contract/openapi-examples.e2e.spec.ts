import type { Response } from 'supertest';
import request from '../support/contract-request.js';
import { loadOpenApiDocument, OpenApiContract } from '../support/openapi-contract.js';
import { freePort, startRedisServer, type RedisServer } from '../support/redis-server.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

type Json = Record<string, unknown>;
type Server = ReturnType<TestApp['app']['getHttpServer']>;

interface MediaExample {
  where: string;
  path: string;
  status: string;
  contentType: string;
  schema: Json;
  value: unknown;
}

const document = loadOpenApiDocument();
const contract = new OpenApiContract(document);

/** Every example of every request and response body in the document. */
function mediaExamples(): MediaExample[] {
  const found: MediaExample[] = [];
  for (const [path, item] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      const op = operation as unknown as { requestBody?: Json; responses: Record<string, Json> };
      const bodies: [string, Json | undefined][] = [
        ['request', op.requestBody],
        ...Object.entries(op.responses).map(([status, response]) => [status, response] as [string, Json]),
      ];
      for (const [status, body] of bodies) {
        for (const [contentType, media] of Object.entries((body?.content ?? {}) as Record<string, Json>)) {
          const values =
            media.example !== undefined
              ? [media.example]
              : Object.values((media.examples ?? {}) as Record<string, { value: unknown }>).map((e) => e.value);
          for (const value of values) {
            found.push({
              where: `${method.toUpperCase()} ${path} ${status} ${contentType}`,
              path,
              status,
              contentType,
              schema: media.schema as Json,
              value,
            });
          }
        }
      }
    }
  }
  return found;
}

function example(path: string, status: string, contentType = 'application/json'): unknown {
  const found = mediaExamples().find((e) => e.path === path && e.status === status && e.contentType === contentType);
  if (!found) throw new Error(`no example for ${path} ${status} ${contentType}`);
  return found.value;
}

/** The same keys at every level (values may differ). */
function shape(value: unknown): unknown {
  if (Array.isArray(value)) return value.length > 0 ? [shape(value[0])] : [];
  if (typeof value !== 'object' || value === null) return typeof value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, shape((value as Json)[key])]),
  );
}

describe('examples in openapi.yaml', () => {
  it('exist for the predict request and every /v1 response', () => {
    const v1 = mediaExamples().filter((e) => e.path.startsWith('/v1/'));
    expect(v1.map((e) => e.where).sort()).toEqual(
      [
        'GET /v1/model 200 application/json',
        'GET /v1/model 401 application/problem+json',
        'GET /v1/model 429 application/problem+json',
        'GET /v1/model 503 application/problem+json',
        // Three named examples: two texts, options with details, a long text read in windows.
        'POST /v1/sentiment/predict request application/json',
        'POST /v1/sentiment/predict request application/json',
        'POST /v1/sentiment/predict request application/json',
        'POST /v1/sentiment/predict 200 application/json',
        'POST /v1/sentiment/predict 200 application/json',
        ...[200, 400, 401, 413, 415, 422, 429, 503].map(
          (s) => `POST /v1/sentiment/predict ${s} application/${s === 200 ? 'json' : 'problem+json'}`,
        ),
        ...[401, 409, 413, 415, 422, 429, 501, 503].map((s) => `POST /v1/sentiment/jobs ${s} application/problem+json`),
        ...[
          'GET /v1/sentiment/jobs/{id}',
          'DELETE /v1/sentiment/jobs/{id}',
          'GET /v1/sentiment/jobs/{id}/results',
        ].flatMap((operation) => [401, 404, 429, 501, 503].map((s) => `${operation} ${s} application/problem+json`)),
      ].sort(),
    );
  });

  it.each(mediaExamples().map((e) => [e.where, e] as const))('%s matches its schema', (_where, e) => {
    expect(contract.errorsFor(e.schema, e.value)).toBeUndefined();
  });
});

describe('examples in openapi.yaml are real answers of the service', () => {
  let ready: TestApp;
  let loading: TestApp;
  let secured: TestApp;
  let limited: TestApp;
  let redis: RedisServer;
  /** Jobs need Redis; its limits are the ones the job examples show. */
  let jobs: TestApp;
  /** Jobs with their Redis unreachable (nothing listens on its port). */
  let jobsDown: TestApp;
  beforeAll(async () => {
    redis = await startRedisServer();
    [ready, loading, secured, limited, jobs, jobsDown] = await Promise.all([
      startTestApp(),
      startTestApp({}, { loadModel: false }),
      startTestApp({ API_KEYS: 'contract-test-key-0123456789' }),
      startTestApp({ RATE_LIMIT_PER_MINUTE: '1' }),
      startTestApp(
        { REDIS_URL: redis.url, JOB_MAX_BYTES: '1024', JOB_STORED_BYTES_PER_KEY: '4096', RATE_LIMIT_ENABLED: 'false' },
        { loadModel: false },
      ),
      freePort().then((port) => startTestApp({ REDIS_URL: `redis://127.0.0.1:${port}` }, { loadModel: false })),
    ]);
  });
  afterAll(async () => {
    await Promise.all([
      ready?.close(),
      loading?.close(),
      secured?.close(),
      limited?.close(),
      jobs?.close(),
      jobsDown?.close(),
    ]);
    await redis?.stop();
  });

  it('predict: the documented response is what the baseline answers to the documented request', async () => {
    const body = example('/v1/sentiment/predict', 'request');
    const documented = example('/v1/sentiment/predict', '200') as {
      model: string;
      predictions: { label: string; score: number }[][];
    };
    const response = await request(ready.app.getHttpServer())
      .post('/v1/sentiment/predict')
      .send(body as object);
    expect(response.status).toBe(200);
    // The example shows the `base` baseline (what an offline `npm start` serves); tests load `tiny`,
    // which is built from the same lexicon and calibration and agrees to well within 1e-6.
    expect(documented.model).toBe('distilbert-sst2-afinn-baseline-base');
    expect(response.body.model).toBe('distilbert-sst2-afinn-baseline-tiny');
    expect(response.body.predictions.map((p: { label: string }[]) => p.map((s) => s.label))).toEqual(
      documented.predictions.map((p) => p.map((s) => s.label)),
    );
    response.body.predictions.forEach((prediction: { score: number }[], i: number) =>
      prediction.forEach((s, j) => expect(Math.abs(s.score - documented.predictions[i][j].score)).toBeLessThan(1e-6)),
    );
  });

  it('predict: each named response example answers the request example of its name, on a fresh cache', async () => {
    type Named = Record<string, { value: { model: string; predictions: unknown; details?: unknown } }>;
    const operation = document.paths['/v1/sentiment/predict'].post as unknown as {
      requestBody: { content: Record<string, { examples: Record<string, { value: object }> }> };
      responses: Record<string, { content: Record<string, { examples: Named }> }>;
    };
    const requests = operation.requestBody.content['application/json'].examples;
    const responses = operation.responses['200'].content['application/json'].examples;
    expect(Object.keys(responses).sort()).toEqual(Object.keys(requests).sort());
    const fresh = await startTestApp();
    try {
      for (const [name, { value }] of Object.entries(requests).reverse()) {
        const response = await request(fresh.app.getHttpServer()).post('/v1/sentiment/predict').send(value);
        expect(response.status).toBe(200);
        const documented = responses[name].value;
        expect(response.body.details).toEqual(documented.details);
        const scores = (body: { predictions: unknown }) => body.predictions as { label: string; score: number }[][];
        expect(scores(response.body).map((p) => p.map((s) => s.label))).toEqual(
          scores(documented).map((p) => p.map((s) => s.label)),
        );
        scores(response.body).forEach((prediction, i) =>
          prediction.forEach((s, j) => expect(Math.abs(s.score - scores(documented)[i][j].score)).toBeLessThan(1e-6)),
        );
      }
    } finally {
      await fresh.close();
    }
  });

  it('model info: the documented response has the real shape and the real fixed values', async () => {
    const documented = example('/v1/model', '200') as Json;
    const response = await request(ready.app.getHttpServer()).get('/v1/model');
    expect(response.status).toBe(200);
    expect(shape(documented)).toEqual(shape(response.body));
    for (const key of ['source', 'labels', 'dtype', 'maxSequenceLength', 'maxBatchSize', 'maxTextChars', 'backend']) {
      expect({ key, value: documented[key] }).toEqual({ key, value: response.body[key] });
    }
    expect(documented.cache).toEqual(response.body.cache);
  });

  /** How to make the service give each documented problem. */
  const problemRecipes: Record<
    string,
    (
      server: { ready: Server; loading: Server; secured: Server; limited: Server; jobs: Server; jobsDown: Server },
      path: string,
    ) => Promise<Response>
  > = {
    '400': ({ ready }, path) =>
      request(ready).post(path).set('Content-Type', 'application/json').send('{"text": ["I love you",'),
    '401': ({ secured }, path) =>
      path === '/v1/model'
        ? request(secured).get(path)
        : request(secured)
            .post(path)
            .send({ text: ['I love you'] }),
    '413': ({ ready }, path) =>
      request(ready)
        .post(path)
        .send({ text: ['x'.repeat(3 * 1024 * 1024)] }),
    '415': ({ ready }, path) => request(ready).post(path).set('Content-Type', 'text/plain').send('I love you'),
    '422': ({ ready }, path) => request(ready).post(path).send({ text: [] }),
    '429': async ({ limited }, path) => {
      // The limit is 1 per minute per client, shared by all /v1 routes: the first call uses it up.
      await request(limited).get('/v1/model');
      return path === '/v1/model'
        ? request(limited).get(path)
        : request(limited)
            .post(path)
            .send({ text: ['I love you'] });
    },
    '503': ({ loading }, path) =>
      path === '/v1/model'
        ? request(loading).get(path)
        : request(loading)
            .post(path)
            .send({ text: ['I love you'] }),
  };

  /** The jobs routes' problems, where they differ from the predict route's. */
  const NDJSON = 'application/x-ndjson';
  const jobRecipes: typeof problemRecipes = {
    '401': ({ secured }, path) =>
      path.endsWith('/jobs')
        ? request(secured).post(path).set('Content-Type', NDJSON).send('')
        : request(secured).get(path),
    '404': ({ jobs }, path) => request(jobs).get(path),
    '413': ({ jobs }, path) =>
      request(jobs)
        .post(path)
        .set('Content-Type', NDJSON)
        .send(`${JSON.stringify({ text: 'x'.repeat(600) })}\n`.repeat(2)),
    '415': ({ jobs }, path) =>
      request(jobs)
        .post(path)
        .send({ text: ['I love you'] }),
    '422': ({ jobs }, path) =>
      request(jobs).post(path).set('Content-Type', NDJSON).send('{"text": "a"}\n{"text": "b"}\n{"text": 3}\n'),
    // The first job takes most of the 4096-byte quota (shared by every caller without API keys).
    '409': async ({ jobs }, path) => {
      await request(jobs).post(path).set('Content-Type', NDJSON).send('{"text": "a"}\n{"text": "b"}\n');
      return request(jobs).post(path).set('Content-Type', NDJSON).send('{"text": "a"}\n{"text": "b"}\n');
    },
    '429': async ({ limited }, path) => {
      await request(limited).get('/v1/model');
      return path.endsWith('/jobs')
        ? request(limited).post(path).set('Content-Type', NDJSON).send('{"text": "a"}\n')
        : request(limited).get(path);
    },
    '503': ({ jobsDown }, path) =>
      path.endsWith('/jobs')
        ? request(jobsDown).post(path).set('Content-Type', NDJSON).send('{"text": "a"}\n')
        : request(jobsDown)
            .get(path.replace('{id}', '0b8e5a3c-6f1d-4e2a-9c7b-5d4e3f2a1b0c'))
            // Without API keys a job is read with its token; the store is asked, and is down.
            .set('Job-Token', 'contract-test-job-token-0123456789'),
    '501': ({ ready }, path) =>
      path.endsWith('/jobs')
        ? request(ready).post(path).set('Content-Type', NDJSON).send('{"text": "a"}\n')
        : request(ready).get(path.replace('{id}', '0b8e5a3c-6f1d-4e2a-9c7b-5d4e3f2a1b0c')),
  };

  const problemExamples = mediaExamples().filter((e) => e.contentType === 'application/problem+json');

  it.each(problemExamples.map((e) => [e.where, e] as const))('%s', async (_where, e) => {
    const recipe = (e.path.startsWith('/v1/sentiment/jobs') ? jobRecipes : problemRecipes)[e.status];
    if (!recipe) throw new Error(`add a recipe that makes the service answer ${e.status}, to check its example`);
    const response = await recipe(
      {
        ready: ready.app.getHttpServer(),
        loading: loading.app.getHttpServer(),
        secured: secured.app.getHttpServer(),
        limited: limited.app.getHttpServer(),
        jobs: jobs.app.getHttpServer(),
        jobsDown: jobsDown.app.getHttpServer(),
      },
      e.path,
    );
    const { requestId: _documentedId, ...documented } = e.value as Json;
    const { requestId, ...real } = response.body as Json;
    expect(real).toEqual(documented);
    expect(requestId).toBe(response.headers['x-request-id']);
  });
});
