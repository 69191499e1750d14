import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseExposition, sumOf } from '../support/prometheus-text.js';
import { expectProblem } from '../support/problem-assertions.js';
import request from '../support/contract-request.js';
import { FaultyModelWorkers } from '../support/model-workers.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

type Response = Awaited<ReturnType<ReturnType<typeof request>['post']>>;

/** Clients sending one-text requests back to back: enough to fill batches of several requests. */
const CLIENTS = 8;

interface Answer {
  text: string;
  response: Response;
}

/** Closed-loop load of unique one-text requests (no cache hits, no coalescing) until `stop`. */
async function loadUntil(t: TestApp, stop: Promise<unknown>): Promise<Answer[]> {
  const run = randomBytes(6).toString('hex');
  const answers: Answer[] = [];
  let stopped = false;
  void stop.then(() => (stopped = true));
  let next = 0;
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (!stopped) {
        const text = `chaos ${run} review ${next++} was good`;
        const response = await request(t.app.getHttpServer())
          .post('/v1/sentiment/predict')
          .send({ text: [text] });
        answers.push({ text, response });
      }
    }),
  );
  return answers;
}

describe('the model call throwing once under load', () => {
  let t: TestApp;
  let answers: Answer[];
  let failedBatchTexts: number;

  beforeAll(async () => {
    // The real model worker, provided through the model module's worker seam, with one call made to fail.
    const workers = new FaultyModelWorkers();
    t = await startTestApp({ RATE_LIMIT_ENABLED: 'false' }, { startWorker: workers.start });
    const load = loadUntil(
      t,
      (async () => {
        await sleep(1000);
        failedBatchTexts = await workers.last!.failNextCall();
        await sleep(1000);
      })(),
    );
    answers = await load;
  });
  afterAll(async () => {
    await t?.close();
  });

  it('answers exactly the requests of the failed batch with 503 inference-failed', () => {
    const failed = answers.filter((answer) => answer.response.status !== 200);
    expect(failedBatchTexts).toBeGreaterThanOrEqual(1);
    expect(failed).toHaveLength(failedBatchTexts);
    for (const { text, response } of failed) {
      expectProblem(response, 503, [text]);
      expect(response.body.type).toBe('urn:sentiment-api:problem:inference-failed');
      expect(Number(response.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    }
  });

  it('serves every other request, before and after the fault', () => {
    const failedAt = answers.findIndex((answer) => answer.response.status !== 200);
    const served = answers.filter((answer) => answer.response.status === 200);
    expect(served.length).toBe(answers.length - failedBatchTexts);
    expect(answers.slice(0, failedAt).every((answer) => answer.response.status === 200)).toBe(true);
    expect(answers.length - failedAt - failedBatchTexts).toBeGreaterThan(CLIENTS);
    for (const { response } of served) expect(response.body.predictions).toHaveLength(1);
  });

  it('stays live and ready, with one failed call in its metrics', async () => {
    const server = t.app.getHttpServer();
    expect((await request(server).get('/health/live')).status).toBe(200);
    expect((await request(server).get('/health/ready')).status).toBe(200);
    const metrics = await request(server).get('/metrics');
    expect(sumOf(parseExposition(metrics.text), 'sentiment_model_call_failures_total')).toBe(1);
  });

  it('caches nothing for the failed texts: retried, they are computed and served', async () => {
    const failedTexts = answers.filter((answer) => answer.response.status !== 200).map((answer) => answer.text);
    const retried = await request(t.app.getHttpServer()).post('/v1/sentiment/predict').send({ text: failedTexts });
    expect(retried.status).toBe(200);
    expect(retried.headers['x-cache']).toBe('MISS');
    expect(retried.body.predictions).toHaveLength(failedTexts.length);
  });
});
