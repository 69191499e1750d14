import { request as httpRequest } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { baselineModelId } from '../../src/baseline-model/write-baseline-model.js';
import { scrapeMetrics, sumOf } from '../support/prometheus-text.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { until } from '../support/until.js';

// The scheduler against the built server on the `base` baseline (DistilBERT-base compute), where a
// 512-token text costs a fair fraction of a second: what the old text-counting batcher refused or
// served one request after another.
const PREDICT = '/v1/sentiment/predict';
let run = 0;
/** A text of well over 512 tokens (truncated to 512), unique to this call. */
const longText = (i: number) => `review ${++run} ${i} ${'the plot was good but the ending was sad '.repeat(70)}`;

interface Answer {
  status: number;
  body: { predictions?: unknown[]; type?: string; detail?: string };
  ms: number;
}

async function predict(server: ServerProcess, text: string[]): Promise<Answer> {
  const started = performance.now();
  const response = await fetch(`${server.baseUrl}${PREDICT}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ text }),
  });
  return { status: response.status, body: (await response.json()) as Answer['body'], ms: performance.now() - started };
}

async function metric(server: ServerProcess, name: string, labels: Record<string, string> = {}): Promise<number> {
  return sumOf(await scrapeMetrics(server.baseUrl), name, labels);
}

describe('the token-cost scheduler (built server, base baseline)', () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServerProcess('scheduler', {
      MODEL_ID: baselineModelId('base'),
      RATE_LIMIT_ENABLED: 'false',
      // Long enough to admit the long requests below on a slow, shared CI machine.
      REQUEST_TIMEOUT_MS: '180000',
    });
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
  });

  it('serves a burst of 20 concurrent small requests, every one of them', async () => {
    const requests = Array.from({ length: 20 }, (_, r) =>
      Array.from({ length: 1 + (r % 7) }, (_, i) => `burst ${r} ${i} the film was ${i % 2 ? 'great' : 'awful'}`),
    );
    const answers = await Promise.all(requests.map((texts) => predict(server, texts)));
    expect(answers.map((answer) => answer.status)).toEqual(requests.map(() => 200));
    answers.forEach((answer, r) => expect(answer.body.predictions).toHaveLength(requests[r].length));
  });

  it("does not make a one-text request wait for another client's long request", async () => {
    const callsBefore = await metric(server, 'sentiment_model_calls_total');
    const long = predict(
      server,
      Array.from({ length: 40 }, (_, i) => longText(i)),
    );
    let longDone = false;
    void long.then(() => (longDone = true));
    // The long request is running and more of it is queued.
    await until(
      async () =>
        (await metric(server, 'sentiment_model_calls_total')) > callsBefore &&
        (await metric(server, 'sentiment_queue_depth')) > 0,
      60_000,
    );
    for (let i = 0; i < 3; i++) {
      const short = await predict(server, [`a short one ${run} ${i}, lovely`]);
      expect(short.status).toBe(200);
      // Generous for a shared 2-core CI machine; `npm run bench` measures the real number.
      expect(short.ms).toBeLessThan(10_000);
    }
    expect(longDone).toBe(false);
    const answer = await long;
    expect(answer.status).toBe(200);
    expect(answer.body.predictions).toHaveLength(40);
  }, 180_000);

  it('takes the unstarted texts of a client that hung up out of the queue', async () => {
    const droppedBefore = await metric(server, 'sentiment_queue_drops_total', { reason: 'cancelled' });
    const body = JSON.stringify({ text: Array.from({ length: 40 }, (_, i) => longText(i)) });
    const request = httpRequest(`${server.baseUrl}${PREDICT}`, {
      method: 'POST',
      agent: false,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    });
    request.on('error', () => undefined);
    request.end(body);
    await until(async () => (await metric(server, 'sentiment_queue_depth')) > 0, 60_000);
    request.destroy();
    const callsAtHangUp = await metric(server, 'sentiment_model_calls_total');
    // Gone at once, not after the ~40 texts' worth of model calls (two 512-token texts per call).
    await until(async () => (await metric(server, 'sentiment_queue_depth')) === 0, 5_000);
    const dropped = (await metric(server, 'sentiment_queue_drops_total', { reason: 'cancelled' })) - droppedBefore;
    expect(dropped).toBeGreaterThan(0);
    expect(dropped).toBeLessThanOrEqual(40);
    // At most the call running at the hang-up finishes; nothing more of that request is computed.
    await sleep(3000);
    expect(await metric(server, 'sentiment_model_calls_total')).toBeLessThanOrEqual(callsAtHangUp + 1);
  }, 120_000);
});

describe('a request too costly for the deadline (built server, base baseline)', () => {
  let server: ServerProcess;
  beforeAll(async () => {
    // 200 texts of 512 tokens need tens of seconds of fp32 model time; the limit is 80 % of 3 s.
    server = await startServerProcess('scheduler-deadline', {
      MODEL_ID: baselineModelId('base'),
      RATE_LIMIT_ENABLED: 'false',
      REQUEST_TIMEOUT_MS: '3000',
    });
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
  });

  it('answers a request that could not finish within the deadline even alone with 413, without running it', async () => {
    const callsBefore = await metric(server, 'sentiment_model_calls_total');
    const huge = await predict(
      server,
      Array.from({ length: 200 }, (_, i) => longText(i)),
    );
    expect(huge.status).toBe(413);
    expect(huge.body.type).toBe('urn:sentiment-api:problem:request-too-costly');
    expect(huge.body.detail).toMatch(/REQUEST_TIMEOUT_MS/);
    expect(await metric(server, 'sentiment_model_calls_total')).toBe(callsBefore);
    expect(await metric(server, 'sentiment_admissions_total', { outcome: 'too-costly' })).toBe(1);
  }, 120_000);
});
