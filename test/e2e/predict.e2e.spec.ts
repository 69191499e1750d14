// Every response is also checked against openapi.yaml (see contract-request.ts).
import request from '../support/contract-request.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { expectProblem } from '../support/problem-assertions.js';

type Prediction = { label: string; score: number }[];

const PREDICT = '/v1/sentiment/predict';

function expectWellFormed(prediction: Prediction, labels: string[]): void {
  expect(prediction.map((p) => p.label).sort()).toEqual([...labels].sort());
  for (let i = 1; i < prediction.length; i++)
    expect(prediction[i - 1].score).toBeGreaterThanOrEqual(prediction[i].score);
  const sum = prediction.reduce((total, p) => total + p.score, 0);
  expect(sum).toBeCloseTo(1, 6);
  for (const p of prediction) expect(p.score).toBeGreaterThanOrEqual(0);
}

describe('POST /v1/sentiment/predict (real app, tiny baseline model)', () => {
  let t: TestApp;
  let server: ReturnType<TestApp['app']['getHttpServer']>;
  let labels: string[];

  beforeAll(async () => {
    t = await startTestApp();
    server = t.app.getHttpServer();
    labels = t.model.requireInfo().labels;
  });
  afterAll(() => t.close());

  it('answers each text with every label, sorted, summing to 1, in request order', async () => {
    const response = await request(server)
      .post(PREDICT)
      .send({ text: ['I love you', 'I hate you'] });
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expect(response.body.model).toBe(t.model.requireInfo().name);
    expect(response.body.predictions).toHaveLength(2);
    for (const prediction of response.body.predictions) expectWellFormed(prediction, labels);
    expect(response.body.predictions[0][0].label).toBe('POSITIVE');
    expect(response.body.predictions[1][0].label).toBe('NEGATIVE');
    expect(response.headers['x-cache']).toMatch(/^(HIT|MISS|PARTIAL|BYPASS)$/);
  });

  it('generates a request id, and echoes one that is sent', async () => {
    const generated = await request(server)
      .post(PREDICT)
      .send({ text: ['fine'] });
    expect(generated.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const echoed = await request(server)
      .post(PREDICT)
      .set('X-Request-Id', 'partner-42.a')
      .send({ text: ['fine'] });
    expect(echoed.headers['x-request-id']).toBe('partner-42.a');
    const unsafe = await request(server)
      .post(PREDICT)
      .set('X-Request-Id', 'bad id with spaces')
      .send({ text: ['fine'] });
    expect(unsafe.headers['x-request-id']).not.toBe('bad id with spaces');
  });

  it('gives a text the same scores alone and inside a batch', async () => {
    const alone = await request(server)
      .post(PREDICT)
      .send({ text: ['what a wonderful day'] });
    const batch = [
      'short',
      'what a wonderful day',
      'a much longer text that pads the batch with many more tokens than the others',
    ];
    const together = await request(server).post(PREDICT).send({ text: batch });
    const a = alone.body.predictions[0] as Prediction;
    const b = together.body.predictions[1] as Prediction;
    expect(b.map((p) => p.label)).toEqual(a.map((p) => p.label));
    b.forEach((p, i) => expect(Math.abs(p.score - a[i].score)).toBeLessThan(1e-5));
  });

  it('answers 1000 texts in one request', async () => {
    const texts = Array.from({ length: 1000 }, (_, i) => `review number ${i}: ${i % 2 ? 'great' : 'awful'} product`);
    const response = await request(server).post(PREDICT).send({ text: texts });
    expect(response.status).toBe(200);
    expect(response.body.predictions).toHaveLength(1000);
    expect(response.body.predictions[1][0].label).toBe('POSITIVE');
    expect(response.body.predictions[0][0].label).toBe('NEGATIVE');
  });

  it('answers unicode, emoji, CJK, RTL, zero-width and empty texts', async () => {
    const texts = [
      'I love it 😍🎉',
      '我喜欢这个',
      'أنا أحب هذا',
      'zero\u200bwidth\u200djoiner\ufeff',
      '',
      '   ',
      'e\u0301le\u0300ve',
    ];
    const response = await request(server).post(PREDICT).send({ text: texts });
    expect(response.status).toBe(200);
    expect(response.body.predictions).toHaveLength(texts.length);
    for (const prediction of response.body.predictions) expectWellFormed(prediction, labels);
  });

  it('truncates a very long text instead of failing', async () => {
    const long = Array.from({ length: 1500 }, () => 'good').join(' ');
    const response = await request(server)
      .post(PREDICT)
      .send({ text: [long] });
    expect(response.status).toBe(200);
    expect(response.body.predictions[0][0].label).toBe('POSITIVE');
  });

  describe('errors are problem+json with the design status', () => {
    it('400 for malformed JSON, without quoting it', async () => {
      const response = await request(server)
        .post(PREDICT)
        .set('Content-Type', 'application/json')
        .send('{"text": ["secret words",');
      expectProblem(response, 400, ['secret words']);
    });

    it('413 for a body over MAX_BODY_BYTES', async () => {
      const big = 'x'.repeat(t.settings.maxBodyBytes);
      const response = await request(server)
        .post(PREDICT)
        .send({ text: [big] });
      expectProblem(response, 413);
    });

    it('415 for a body that is not JSON', async () => {
      const response = await request(server).post(PREDICT).set('Content-Type', 'text/plain').send('I love you');
      expectProblem(response, 415, ['I love you']);
    });

    it.each([
      ['missing text', {}, 'text'],
      ['text not an array', { text: 'I love you' }, 'text'],
      ['empty array', { text: [] }, 'text'],
      ['non-string item', { text: ['fine', 42, 'ok'] }, 'text[1]'],
      ['null item', { text: [null] }, 'text[0]'],
      ['unknown field', { text: ['fine'], mood: 'happy' }, 'mood'],
      ['body not an object', ['I love you'], ''],
    ])('422 for %s, naming the path', async (_case, body, path) => {
      const response = await request(server).post(PREDICT).send(body);
      expectProblem(response, 422, ['I love you', 'happy']);
      expect(response.body.errors).toEqual(
        expect.arrayContaining([expect.objectContaining({ path, message: expect.any(String) })]),
      );
    });

    it('422 for more than MAX_BATCH_SIZE texts', async () => {
      const texts = Array.from({ length: t.settings.maxBatchSize + 1 }, () => 'x');
      const response = await request(server).post(PREDICT).send({ text: texts });
      expectProblem(response, 422);
      expect(response.body.errors).toEqual([expect.objectContaining({ path: 'text' })]);
    });

    it('422 for a text longer than MAX_TEXT_CHARS, naming its index', async () => {
      const tooLong = 'secretpayload'.padEnd(t.settings.maxTextChars + 1, 'y');
      const response = await request(server)
        .post(PREDICT)
        .send({ text: ['fine', tooLong] });
      expectProblem(response, 422, ['secretpayload']);
      expect(response.body.errors).toEqual([expect.objectContaining({ path: 'text[1]' })]);
    });

    it('404 for an unknown route', async () => {
      expectProblem(await request(server).get('/v1/nothing-here'), 404);
    });
  });
});

describe('before the model is ready', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({}, { loadModel: false });
  });
  afterAll(() => t.close());

  it('predict and model info answer 503 with Retry-After', async () => {
    const server = t.app.getHttpServer();
    const predict = await request(server)
      .post(PREDICT)
      .send({ text: ['I love you'] });
    expectProblem(predict, 503, ['I love you']);
    expect(Number(predict.headers['retry-after'])).toBeGreaterThan(0);
    const info = await request(server).get('/v1/model');
    expectProblem(info, 503);
    expect(Number(info.headers['retry-after'])).toBeGreaterThan(0);
  });
});

describe('GET /v1/model', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ MAX_BATCH_SIZE: '64' });
  });
  afterAll(() => t.close());

  it('describes the served model and the limits', async () => {
    const response = await request(t.app.getHttpServer()).get('/v1/model');
    expect(response.status).toBe(200);
    expect(response.body).toEqual(
      expect.objectContaining({
        id: t.settings.modelId,
        source: expect.stringMatching(/^(local|baseline)$/),
        fingerprint: expect.stringMatching(/^[0-9a-f]{16}$/),
        labels: ['NEGATIVE', 'POSITIVE'],
        dtype: 'fp32',
        maxSequenceLength: 512,
        maxBatchSize: 64,
        backend: 'onnxruntime-node',
      }),
    );
    expect(response.body.loadTimeMs).toBeGreaterThan(0);
  });
});
