import type { AddressInfo } from 'node:net';
import type { Prediction } from '../../src/model/label-scores.js';
import { expectSamePrediction } from '../cache/cache-test-helpers.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { JobClient, ndjson } from './job-client.js';

const words = (word: string, count: number) => Array.from({ length: count }, () => word).join(' ');

/**
 * `long_text` as a job option (`?long_text=chunk`): stored with the job, so every chunk reads its
 * long texts as the predict route does with the same option.
 */
describe('bulk jobs with long_text (in-process app, real redis-server, tiny baseline)', () => {
  let redis: RedisServer;
  let t: TestApp;
  let client: JobClient;
  let baseUrl: string;

  beforeAll(async () => {
    redis = await startRedisServer();
    t = await startTestApp({
      REDIS_URL: redis.url,
      RATE_LIMIT_ENABLED: 'false',
      // Several chunks per job; a text of 3 windows is refused.
      JOB_CHUNK_TEXTS: '2',
      LONG_TEXT_MAX_WINDOWS: '2',
    });
    await t.app.listen(0, '127.0.0.1');
    baseUrl = `http://127.0.0.1:${(t.app.getHttpServer().address() as AddressInfo).port}`;
    client = new JobClient(baseUrl, undefined, 'jobs-long-text-token-0123456789abcdef');
  });
  afterAll(async () => {
    await t?.close();
    await redis?.stop();
  });

  async function predict(texts: string[], options: object = {}): Promise<Prediction[]> {
    const response = await fetch(`${baseUrl}/v1/sentiment/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: texts, ...options }),
    });
    expect(response.status).toBe(200);
    return ((await response.json()) as { predictions: Prediction[] }).predictions;
  }

  const run = `${Date.now()}`;
  /** A verdict after token 512 (2 windows), a short text, and one whose end outweighs its start (2 windows). */
  const texts = [
    `${words('the', 600)} ${words('terrible', 60)} ${run}`,
    `short ${run}: lovely`,
    `${words('good', 300)} ${words('awful', 400)} ${run}`,
  ];

  it.each([
    ['chunk', '?long_text=chunk', { long_text: 'chunk' }],
    ['truncate (explicit)', '?long_text=truncate', {}],
    ['truncate (default)', '', {}],
  ])('answers every chunk with long_text %s, as the predict route does', async (_mode, query, options) => {
    const submitted = await client.submit(ndjson(texts), {}, query);
    expect(submitted.status).toBe(202);
    const job = (await submitted.json()) as { id: string; longText?: string };
    expect(job.longText).toBe(query === '?long_text=chunk' ? 'chunk' : undefined);
    expect(await client.waitForEnd(job.id, 60_000)).toMatchObject({ state: 'completed', textsDone: 3 });
    const lines = await client.resultLines(job.id);
    const expected = await predict(texts, options);
    lines.forEach((line, i) => expectSamePrediction(line.predictions, expected[i]));
  });

  it('reads the verdict past token 512 only with long_text=chunk', async () => {
    const text = `${words('the', 600)} ${words('terrible', 60)} verdict ${run}`;
    const results: Record<string, Prediction> = {};
    for (const query of ['', '?long_text=chunk']) {
      const { id } = (await (await client.submit(ndjson([text]), {}, query)).json()) as { id: string };
      await client.waitForEnd(id, 60_000);
      results[query] = (await client.resultLines(id))[0].predictions;
    }
    const score = (prediction: Prediction, label: string) => prediction.find((p) => p.label === label)!.score;
    expect(Math.abs(score(results[''], 'NEGATIVE') - 0.5)).toBeLessThan(1e-6);
    expect(score(results['?long_text=chunk'], 'NEGATIVE')).toBeGreaterThan(0.75);
  });

  it('refuses an unknown long_text before reading the body, naming the parameter', async () => {
    const refused = await client.submit(ndjson(['a']), {}, '?long_text=split');
    expect(refused.status).toBe(422);
    expect(await refused.json()).toMatchObject({
      type: 'urn:sentiment-api:problem:validation',
      errors: [{ path: 'long_text', message: 'must be one of truncate, chunk' }],
    });
  });

  it('binds an Idempotency-Key to the body and long_text together', async () => {
    const body = ndjson([`idempotent ${run}`]);
    const headers = { 'Idempotency-Key': `long-text-${run}` };
    const first = (await (await client.submit(body, headers, '?long_text=chunk')).json()) as { id: string };
    const retried = await client.submit(body, headers, '?long_text=chunk');
    expect(((await retried.json()) as { id: string }).id).toBe(first.id);
    const otherOption = await client.submit(body, headers);
    expect(otherOption.status).toBe(422);
    expect(await otherOption.json()).toMatchObject({ type: 'urn:sentiment-api:problem:idempotency-key-reused' });
  });

  it('fails a job at once whose text needs more than LONG_TEXT_MAX_WINDOWS windows, naming its line', async () => {
    // Line 4 (chunk 1) needs 3 windows: 1,000 content tokens.
    const lines = [`fine ${run}`, `good ${run}`, `ok ${run}`, `${words('the', 998)} ${run}`];
    const { id } = (await (await client.submit(ndjson(lines), {}, '?long_text=chunk')).json()) as { id: string };
    const end = (await client.waitForEnd(id, 60_000)) as { state: string; error?: string };
    expect(end).toMatchObject({
      state: 'failed',
      error: 'chunk 1 failed: line 4 needs 3 windows with long_text "chunk", more than LONG_TEXT_MAX_WINDOWS (2)',
    });
  });
});
