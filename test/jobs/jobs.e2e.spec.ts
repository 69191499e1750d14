import type { AddressInfo } from 'node:net';
import { createClient } from 'redis';
import { expectSamePrediction, freshTexts } from '../cache/cache-test-helpers.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { JobClient, ndjson } from './job-client.js';
import { accounting } from './job-redis-state.js';

const KEY_A = 'job-owner-key-aaaaaaaaaaaa';
const KEY_B = 'other-tenant-key-bbbbbbbbbbb';
const JOB_TEXTS = 20_000;

describe('bulk jobs (in-process app, real redis-server, tiny baseline)', () => {
  let redis: RedisServer;
  let inspector: ReturnType<typeof createClient>;
  let t: TestApp;
  let a: JobClient;
  let b: JobClient;

  beforeAll(async () => {
    redis = await startRedisServer({ own: true });
    inspector = createClient({ url: redis.url });
    await inspector.connect();
    t = await startTestApp({
      REDIS_URL: redis.url,
      API_KEYS: `${KEY_A},${KEY_B}`,
      RATE_LIMIT_ENABLED: 'false',
      CACHE_TIMEOUT_MS: '1000',
    });
    await t.app.listen(0, '127.0.0.1');
    const { port } = t.app.getHttpServer().address() as AddressInfo;
    a = new JobClient(`http://127.0.0.1:${port}`, KEY_A);
    b = new JobClient(`http://127.0.0.1:${port}`, KEY_B);
  });
  afterAll(async () => {
    await t?.close();
    await inspector?.disconnect();
    await redis?.stop();
  });

  /** Ids of the jobs with anything in Redis (earlier tests' jobs may still be changing keys). */
  const jobIds = async () =>
    [
      ...new Set(
        (await inspector.keys('{sentiment:jobs}:*')).map((key) => /^\{sentiment:jobs\}:([0-9a-f-]{36})/.exec(key)?.[1]),
      ),
    ]
      .filter((id) => id !== undefined)
      .sort();

  it('answers a 20,000-text job in input order, with the predictions the predict route gives', async () => {
    const texts = freshTexts(JOB_TEXTS, 'bulk');
    const submitted = await a.submit(ndjson(texts));
    expect(submitted.status).toBe(202);
    const job = (await submitted.json()) as { id: string; state: string; textsTotal: number };
    expect(submitted.headers.get('location')).toBe(`/v1/sentiment/jobs/${job.id}`);
    expect(job).toMatchObject({ state: 'queued', textsTotal: JOB_TEXTS });

    const end = await a.waitForEnd(job.id, 180_000);
    expect(end).toMatchObject({ state: 'completed', textsDone: JOB_TEXTS, textsTotal: JOB_TEXTS });
    const lines = await a.resultLines(job.id);
    expect(lines).toHaveLength(JOB_TEXTS);
    lines.forEach((line, i) => expect([line.line, line.id]).toEqual([i + 1, `r${i}`]));

    // Key B has its own cache entries (tenant scope), so the predict route computes its answers anew.
    for (let start = 0; start < JOB_TEXTS; start += 1000) {
      const expected = await b.predict(texts.slice(start, start + 1000));
      expected.forEach((prediction, i) => expectSamePrediction(lines[start + i].predictions, prediction));
    }
  }, 240_000);

  it('hides a job from every other key: status, results and cancel answer 404', async () => {
    const submitted = await a.submit(ndjson(freshTexts(3)));
    const { id } = (await submitted.json()) as { id: string };
    for (const response of [await b.status(id), await b.results(id), await b.cancel(id)]) {
      expect(response.status).toBe(404);
      expect(await response.json()).toMatchObject({ type: 'urn:sentiment-api:problem:job-not-found' });
    }
    expect((await a.status(id)).status).toBe(200);
  });

  it('returns the same job for a resubmission with the same Idempotency-Key', async () => {
    const body = ndjson(freshTexts(10));
    const first = (await (await a.submit(body, { 'idempotency-key': 'nightly-2026-12-01' })).json()) as { id: string };
    const again = await a.submit(body, { 'idempotency-key': 'nightly-2026-12-01' });
    expect(again.status).toBe(202);
    expect(((await again.json()) as { id: string }).id).toBe(first.id);
    // The key is per API key: another key's same Idempotency-Key is another job.
    const other = (await (await b.submit(body, { 'idempotency-key': 'nightly-2026-12-01' })).json()) as { id: string };
    expect(other.id).not.toBe(first.id);
    await a.waitForEnd(first.id, 30_000);
    expect(await a.resultLines(first.id)).toHaveLength(10);
  });

  it('refuses a job with a malformed line, naming the line, and creates nothing', async () => {
    const before = await jobIds();
    const lines = [
      ...freshTexts(600).map((text) => JSON.stringify({ text })),
      '{"text": 42}',
      JSON.stringify({ text: 'after the bad line' }),
    ];
    const response = await a.submit(lines.join('\n'));
    expect(response.status).toBe(422);
    const problem = (await response.json()) as { detail: string; errors: { path: string; message: string }[] };
    expect(problem.detail).toBe('Line 601 is not a valid job line; nothing was created.');
    expect(problem.errors).toEqual([{ path: 'line[601].text', message: 'must be a string (got number)' }]);
    // Two chunks were staged before the bad line arrived: they are gone again, and no job exists.
    expect(await jobIds()).toEqual(before);

    const notJson = await a.submit('{"text": "fine"}\n{not json\n');
    expect(notJson.status).toBe(422);
    expect(((await notJson.json()) as { detail: string }).detail).toContain('Line 2');
  });

  it('cancels a running job: it stops, its waiting chunks leave the queue and its results are dropped', async () => {
    const total = 6000;
    const { id } = (await (await a.submit(ndjson(freshTexts(total, 'cancel')))).json()) as { id: string };
    const response = await a.cancel(id);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ id, state: 'cancelled' });
    const doneAtCancel = ((await (await a.status(id)).json()) as { textsDone: number }).textsDone;
    expect(doneAtCancel).toBeLessThan(total);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const later = (await (await a.status(id)).json()) as { state: string; textsDone: number };
    expect(later).toMatchObject({ state: 'cancelled', textsDone: doneAtCancel });
    expect(await a.resultLines(id)).toEqual([]);
    expect(await inspector.keys(`{sentiment:jobs}:${id}:*`)).toEqual([]);
    expect((await accounting(inspector)).unanswered[id]).toBeUndefined();
  });

  it('refuses a JSON body with 415', async () => {
    const response = await fetch(`${a.baseUrl}/v1/sentiment/jobs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY_A}`, 'content-type': 'application/json' },
      body: JSON.stringify({ text: ['a'] }),
    });
    expect(response.status).toBe(415);
  });
});

describe('bulk jobs without Redis', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({}, { loadModel: false });
    await t.app.listen(0, '127.0.0.1');
  });
  afterAll(() => t?.close());

  it('answers 501 jobs-need-redis', async () => {
    const { port } = t.app.getHttpServer().address() as AddressInfo;
    const response = await new JobClient(`http://127.0.0.1:${port}`).submit('{"text": "hi"}\n');
    expect(response.status).toBe(501);
    expect(await response.json()).toMatchObject({ type: 'urn:sentiment-api:problem:jobs-need-redis' });
  });
});
