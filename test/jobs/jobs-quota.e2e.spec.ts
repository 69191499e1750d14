import { setTimeout as sleep } from 'node:timers/promises';
import { freshTexts } from '../cache/cache-test-helpers.js';
import { redisArg, redisMemoryBytes, shippedRedisArgs } from '../deploy/support/shipped-redis.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { chunkBytes, type StoredText } from '../../src/jobs/job-store.js';
import { acceptedJob, JobClient, ndjson, type ResultLine } from './job-client.js';
import {
  accountOf,
  accounting,
  baseUrlOf,
  inspectorOf,
  keysOfJob,
  oomErrors,
  queuedJobIds,
  storedJobIds,
  untilNoChunksOf,
  type Inspector,
} from './job-redis-state.js';

const KEY_A = 'quota-tenant-a-key-0123456789';
const KEY_B = 'quota-flooder-b-key-012345678';
const KEY_C = 'quota-tenant-c-key-0123456789';
const KEY_D = 'quota-tenant-d-key-0123456789';
const KEY_E = 'quota-tenant-e-key-0123456789';
const MIB = 1024 * 1024;
/** One 200,000-line flood job reserves about 38.6 MB: one fits in 48 MiB, a second does not. */
const QUOTA = 48 * MIB;
/** The jobs Redis as deploy/k8s ships it, with less memory: 80% of it (107 MB) is the store's budget. */
const MAXMEMORY = '128mb';
const BUDGET = Math.floor(0.8 * redisMemoryBytes(MAXMEMORY));
const FLOOD_LINES = 200_000;
const A_TEXTS = 2000;
/**
 * Distinct texts the model has to answer one by one (a few thousand a second with the tiny model):
 * jobs of these are still running seconds later, when they are cancelled.
 */
const SLOW_E_TEXTS = 120_000;
const SLOW_C_TEXTS = 80_000;
/** The default JOB_CHUNK_TEXTS. */
const CHUNK_TEXTS = 256;

const QUOTA_EXCEEDED = 'urn:sentiment-api:problem:job-quota-exceeded';

/** `lines` lines of one word, the same one: the cheapest body to send for the most stored bytes. */
function floodBody(lines: number): string {
  return '{"text":"ok"}\n'.repeat(lines);
}

/** What the store reserves for these job lines, chunk by chunk as it stages them. */
function reservedBytes(lines: { text: string; id?: string }[]): number {
  let bytes = 0;
  for (let start = 0; start < lines.length; start += CHUNK_TEXTS) {
    const chunk: StoredText[] = lines
      .slice(start, start + CHUNK_TEXTS)
      .map(({ text, id }, i) => [text, id ?? null, start + i + 1]);
    bytes += chunkBytes(chunk, JSON.stringify(chunk));
  }
  return bytes;
}

/** A job of distinct texts (ids `r<i>`, as {@link ndjson} writes them) and what it reserves. */
function slowJob(count: number, label: string): { body: string; bytes: number } {
  const texts = freshTexts(count, label);
  return { body: ndjson(texts), bytes: reservedBytes(texts.map((text, i) => ({ text, id: `r${i}` }))) };
}

describe('byte quotas against a hostile tenant (in-process app, jobs Redis as shipped with 128mb)', () => {
  let jobsRedis: RedisServer;
  let cacheRedis: RedisServer;
  let inspector: Inspector;
  let t: TestApp;
  let a: JobClient;
  let b: JobClient;
  let aJob: string;
  let aResults: ResultLine[];
  let b1: string;
  const floodBytes = reservedBytes(Array.from({ length: FLOOD_LINES }, () => ({ text: 'ok' })));

  beforeAll(async () => {
    const shipped = shippedRedisArgs('jobs-redis-statefulset.yaml');
    // The test stands for production's jobs Redis: it must be the one that refuses writes when full.
    expect(redisArg(shipped, '--maxmemory-policy')).toBe('noeviction');
    expect(redisArg(shipped, '--appendonly')).toBe('yes');
    expect(redisMemoryBytes(redisArg(shipped, '--maxmemory')!)).toBeGreaterThan(redisMemoryBytes(MAXMEMORY));
    const config = [...shipped];
    config[config.indexOf('--maxmemory') + 1] = MAXMEMORY;
    jobsRedis = await startRedisServer({ own: true, config });
    cacheRedis = await startRedisServer({ own: true });
    inspector = await inspectorOf(jobsRedis.url);
    t = await startTestApp({
      REDIS_URL: cacheRedis.url,
      JOBS_REDIS_URL: jobsRedis.url,
      API_KEYS: [KEY_A, KEY_B, KEY_C, KEY_D, KEY_E].join(','),
      RATE_LIMIT_ENABLED: 'false',
      JOB_STORED_BYTES_PER_KEY: String(QUOTA),
    });
    await t.app.listen(0, '127.0.0.1');
    a = new JobClient(baseUrlOf(t.app.getHttpServer()), KEY_A);
    b = new JobClient(baseUrlOf(t.app.getHttpServer()), KEY_B);
    // The sizes below rest on these: one flood job fits the quota, two do not.
    expect(floodBytes).toBeLessThan(QUOTA);
    expect(2 * floodBytes).toBeGreaterThan(QUOTA);
  });
  afterAll(async () => {
    await t?.close();
    await inspector?.disconnect();
    await jobsRedis?.stop();
    await cacheRedis?.stop();
  });

  /** Reservations by job id, in bytes. */
  async function reservations(): Promise<Record<string, number>> {
    const { reserved } = await accounting(inspector);
    return Object.fromEntries(Object.entries(reserved).map(([id, entry]) => [id, Number(entry.split(' ')[0])]));
  }

  /** Bytes all jobs hold together. */
  async function heldTotal(): Promise<number> {
    return (await accounting(inspector)).held['*'] ?? 0;
  }

  /** The store-wide total is the sum of the jobs' reservations, and each account's the sum of its own. */
  async function expectConsistentAccounting(): Promise<void> {
    const { held, reserved } = await accounting(inspector);
    const perAccount: Record<string, number> = {};
    let total = 0;
    for (const entry of Object.values(reserved)) {
      const [bytes, account] = entry.split(' ');
      perAccount[account] = (perAccount[account] ?? 0) + Number(bytes);
      total += Number(bytes);
    }
    const { '*': all, ...perAccountHeld } = held;
    expect(all ?? 0).toBe(total);
    expect(perAccountHeld).toEqual(perAccount);
    expect(total).toBeLessThanOrEqual(BUDGET);
  }

  /** A refused submission left nothing: the same jobs and reservations as before it. */
  async function expectNothingLeft(jobsBefore: string[], reservedBefore: Record<string, number>): Promise<void> {
    expect(await storedJobIds(inspector)).toEqual(jobsBefore);
    expect((await queuedJobIds(inspector)).filter((id) => !jobsBefore.includes(id))).toEqual([]);
    expect(await reservations()).toEqual(reservedBefore);
    await expectConsistentAccounting();
  }

  /** Key A's job is as it was before the flood, and Redis never refused a write. */
  async function expectTenantAUntouched(): Promise<void> {
    expect(await oomErrors(inspector)).toBe(0);
    expect(await (await a.status(aJob)).json()).toMatchObject({ state: 'completed', textsDone: A_TEXTS });
    expect(await a.resultLines(aJob)).toEqual(aResults);
  }

  it("key B's flood: the first job is admitted, the next ones 409 with nothing left; key A's finished job is untouched", async () => {
    const texts = freshTexts(A_TEXTS, 'tenant-a');
    aJob = (await acceptedJob(await a.submit(ndjson(texts)))).id;
    expect(await a.waitForEnd(aJob, 60_000)).toMatchObject({ state: 'completed', textsDone: A_TEXTS });
    aResults = await a.resultLines(aJob);
    expect(aResults.map((line) => line.id)).toEqual(texts.map((_, i) => `r${i}`));

    // Key A reads its job all through the flood: never a 503 (nor anything else than its results).
    let flooding = true;
    const answered: number[] = [];
    const watcher = (async () => {
      while (flooding) {
        const [status, results] = [await a.status(aJob), await a.results(aJob)];
        answered.push(status.status, results.status);
        // Read to the end: a body left unread would hold its connection open.
        await status.text();
        await results.text();
        await sleep(50);
      }
    })();

    const body = floodBody(FLOOD_LINES);
    expect(body.length).toBe(2_800_000);
    const responses: Response[] = [];
    const jobsBefore = await storedJobIds(inspector);
    try {
      for (let i = 0; i < 3; i++) responses.push(await b.submit(body));
    } finally {
      flooding = false;
      await watcher;
    }
    expect(responses.map((response) => response.status)).toEqual([202, 409, 409]);
    b1 = (await acceptedJob(responses[0])).id;
    for (const refused of responses.slice(1)) {
      expect(await refused.json()).toMatchObject({ type: QUOTA_EXCEEDED, status: 409 });
      const retryAfter = Number(refused.headers.get('retry-after'));
      // The first of B's reservations to lapse is its admitted job's, a JOB_RESULT_TTL_SECONDS away.
      expect(retryAfter).toBeGreaterThan(t.settings.jobs.resultTtlSeconds - 120);
      expect(retryAfter).toBeLessThanOrEqual(t.settings.jobs.resultTtlSeconds);
    }
    expect(answered.length).toBeGreaterThan(0);
    expect(answered.filter((status) => status !== 200)).toEqual([]);

    // Nothing of the refused submissions is left: no record, staged or queued chunk, or reservation.
    const accountB = accountOf(KEY_B, t.settings);
    await expectNothingLeft([...jobsBefore, b1].sort(), { [aJob]: expect.any(Number), [b1]: floodBytes });
    expect((await accounting(inspector)).held[accountB]).toBe(floodBytes);

    // The admitted job stores all its results without Redis refusing a write, and A's job is as it was.
    expect(await b.waitForEnd(b1, 90_000)).toMatchObject({ state: 'completed', textsDone: FLOOD_LINES });
    await expectTenantAUntouched();
  }, 150_000);

  it('a job alone larger than the quota is 413; cancelling a running job releases its reservation at once', async () => {
    const e = new JobClient(a.baseUrl, KEY_E);
    const accountE = accountOf(KEY_E, t.settings);
    const jobsBefore = await storedJobIds(inspector);
    const reservedBefore = await reservations();

    // Twice the flood, alone over the quota (and within the store's budget): 413, whatever E holds.
    expect(reservedBytes(Array.from({ length: 2 * FLOOD_LINES }, () => ({ text: 'ok' })))).toBeGreaterThan(QUOTA);
    expect((await heldTotal()) + QUOTA).toBeLessThan(BUDGET);
    const alone = await e.submit(floodBody(2 * FLOOD_LINES));
    expect(alone.status).toBe(413);
    expect(await alone.json()).toMatchObject({ type: QUOTA_EXCEEDED, status: 413 });
    expect(alone.headers.get('retry-after')).toBeNull();
    await expectNothingLeft(jobsBefore, reservedBefore);

    // A running job of E's holds enough that a flood job no longer fits.
    const slow = slowJob(SLOW_E_TEXTS, 'slow-e');
    expect(slow.bytes).toBeLessThan(QUOTA);
    expect(slow.bytes + floodBytes).toBeGreaterThan(QUOTA);
    expect((await heldTotal()) + slow.bytes + floodBytes).toBeLessThan(BUDGET);
    const e1 = (await acceptedJob(await e.submit(slow.body))).id;
    expect((await reservations())[e1]).toBe(slow.bytes);
    const refused = await e.submit(floodBody(FLOOD_LINES));
    expect(refused.status).toBe(409);
    expect(await refused.json()).toMatchObject({ type: QUOTA_EXCEEDED });
    await expectNothingLeft([...jobsBefore, e1].sort(), { ...reservedBefore, [e1]: slow.bytes });

    const cancelled = (await (await e.cancel(e1)).json()) as { state: string; textsDone: number };
    expect(cancelled.state).toBe('cancelled');
    expect(cancelled.textsDone).toBeLessThan(SLOW_E_TEXTS);
    expect(await reservations()).toEqual(reservedBefore);
    expect((await accounting(inspector)).held[accountE]).toBeUndefined();
    expect(await inspector.exists(`{sentiment:jobs}:held-by:${accountE}`)).toBe(0);
    // What it staged and answered is gone with it; only its record stays, cancelled. A chunk that was
    // running leaves the queue once it is done (its results refused).
    await untilNoChunksOf(inspector, e1);
    expect(await keysOfJob(inspector, e1)).toEqual([`{sentiment:jobs}:${e1}`]);

    // The same flood job is admitted now, and completes.
    const e2 = (await acceptedJob(await e.submit(floodBody(FLOOD_LINES)))).id;
    expect(await e.waitForEnd(e2, 90_000)).toMatchObject({ state: 'completed', textsDone: FLOOD_LINES });
    expect((await accounting(inspector)).held[accountE]).toBe(floodBytes);
    await expectConsistentAccounting();
    await expectTenantAUntouched();
  }, 150_000);

  it('answers 503 jobs-store-full once 80% of maxmemory is reserved, leaving nothing; a cancel gives the room back', async () => {
    const c = new JobClient(a.baseUrl, KEY_C);
    const d = new JobClient(a.baseUrl, KEY_D);
    // A's, B's and E's jobs hold about 78 MB of the 107 MB budget. C's job fits, and then D's does not,
    // though D holds nothing (its own quota has all the room).
    const slow = slowJob(SLOW_C_TEXTS, 'slow-c');
    const dLines = FLOOD_LINES / 2;
    const dBytes = reservedBytes(Array.from({ length: dLines }, () => ({ text: 'ok' })));
    const held = await heldTotal();
    expect(held + slow.bytes).toBeLessThanOrEqual(BUDGET);
    expect(held + slow.bytes + dBytes).toBeGreaterThan(BUDGET);
    expect(held + dBytes).toBeLessThanOrEqual(BUDGET);
    expect(dBytes).toBeLessThan(QUOTA);

    const c1 = (await acceptedJob(await c.submit(slow.body))).id;
    const jobsBefore = await storedJobIds(inspector);
    const reservedBefore = await reservations();
    const refused = await d.submit(floodBody(dLines));
    expect(refused.status).toBe(503);
    expect(await refused.json()).toMatchObject({ type: 'urn:sentiment-api:problem:jobs-store-full', status: 503 });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    await expectNothingLeft(jobsBefore, reservedBefore);
    expect((await accounting(inspector)).held[accountOf(KEY_D, t.settings)]).toBeUndefined();

    // C's cancel gives its room back to the store: D's job is admitted now, and completes.
    expect(await (await c.cancel(c1)).json()).toMatchObject({ state: 'cancelled' });
    expect(Object.keys(await reservations())).not.toContain(c1);
    const d1 = (await acceptedJob(await d.submit(floodBody(dLines)))).id;
    expect(await d.waitForEnd(d1, 90_000)).toMatchObject({ state: 'completed', textsDone: dLines });
    await expectConsistentAccounting();
    await expectTenantAUntouched();
    const memory = await inspector.info('memory');
    expect(Number(/^used_memory:(\d+)/m.exec(memory)?.[1])).toBeLessThan(redisMemoryBytes(MAXMEMORY));
  }, 150_000);
});

describe('byte quotas without API keys: one shared account, whatever the job token', () => {
  let redis: RedisServer;
  let inspector: Inspector;
  let t: TestApp;
  let baseUrl: string;
  const texts = freshTexts(600, 'anonymous');
  const jobBytes = reservedBytes(texts.map((text, i) => ({ text, id: `r${i}` })));

  beforeAll(async () => {
    redis = await startRedisServer({ own: true });
    inspector = await inspectorOf(redis.url);
    // One such job fits, a second does not.
    t = await startTestApp({
      REDIS_URL: redis.url,
      RATE_LIMIT_ENABLED: 'false',
      JOB_STORED_BYTES_PER_KEY: String(Math.floor(1.5 * jobBytes)),
    });
    await t.app.listen(0, '127.0.0.1');
    baseUrl = baseUrlOf(t.app.getHttpServer());
  });
  afterAll(async () => {
    await t?.close();
    await inspector?.disconnect();
    await redis?.stop();
  });

  it('a new token per job is not a new quota: 413 for a job alone over it (whatever the account holds), 409 for every token once one job holds it', async () => {
    const alone = await new JobClient(baseUrl).submit(ndjson(freshTexts(1200, 'anonymous-alone')));
    expect(alone.status).toBe(413);
    expect(await alone.json()).toMatchObject({ type: QUOTA_EXCEEDED });
    expect(await storedJobIds(inspector)).toEqual([]);
    // The store-wide total field may stay, at 0.
    expect(await accounting(inspector)).toEqual({ held: { '*': 0 }, reserved: {}, waiting: {}, unanswered: {} });

    const first = new JobClient(baseUrl, undefined, 'first-token-0123456789abcdef0123456789');
    const id = (await acceptedJob(await first.submit(ndjson(texts)))).id;
    expect(await first.waitForEnd(id, 30_000)).toMatchObject({ state: 'completed' });
    const jobsBefore = await storedJobIds(inspector);
    for (const other of [
      new JobClient(baseUrl, undefined, 'other-token-0123456789abcdef0123456789'),
      new JobClient(baseUrl),
      first,
    ]) {
      const refused = await other.submit(ndjson(freshTexts(600, 'anonymous-again')));
      expect(refused.status).toBe(409);
      expect(await refused.json()).toMatchObject({ type: QUOTA_EXCEEDED });
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    // A job over the quota alone stays a 413 while the account holds room too: a retry never helps it.
    const stillAlone = await new JobClient(baseUrl).submit(ndjson(freshTexts(1200, 'anonymous-alone-again')));
    expect(stillAlone.status).toBe(413);
    expect(await stillAlone.json()).toMatchObject({ type: QUOTA_EXCEEDED });
    expect(stillAlone.headers.get('retry-after')).toBeNull();
    expect(await storedJobIds(inspector)).toEqual(jobsBefore);
    const { held, reserved } = await accounting(inspector);
    expect(reserved).toEqual({ [id]: `${jobBytes} anonymous` });
    expect(held).toEqual({ anonymous: jobBytes, '*': jobBytes });
  });
});

describe('byte quotas and concurrent retries of one submission (same Idempotency-Key and body)', () => {
  const KEY = 'quota-retry-key-0123456789abc';
  let redis: RedisServer;
  let inspector: Inspector;
  let t: TestApp;
  let baseUrl: string;
  const texts = freshTexts(3000, 'retried');
  const jobBytes = reservedBytes(texts.map((text, i) => ({ text, id: `r${i}` })));

  beforeAll(async () => {
    redis = await startRedisServer({ own: true });
    inspector = await inspectorOf(redis.url);
    // The job fits the quota; twice it does not.
    t = await startTestApp({
      REDIS_URL: redis.url,
      API_KEYS: KEY,
      RATE_LIMIT_ENABLED: 'false',
      JOB_STORED_BYTES_PER_KEY: String(Math.floor(1.5 * jobBytes)),
    });
    await t.app.listen(0, '127.0.0.1');
    baseUrl = baseUrlOf(t.app.getHttpServer());
  });
  afterAll(async () => {
    await t?.close();
    await inspector?.disconnect();
    await redis?.stop();
  });

  it('a client retrying while its first upload is in flight gets the one job, not a quota refusal', async () => {
    const client = new JobClient(baseUrl, KEY);
    const body = ndjson(texts);
    const responses = await Promise.all(
      Array.from({ length: 4 }, () => client.submit(body, { 'idempotency-key': 'file-sha-1' })),
    );
    const answers = await Promise.all(responses.map(async (response) => `${response.status} ${await response.text()}`));
    expect(answers.filter((answer) => !answer.startsWith('202 '))).toEqual([]);
    const ids = new Set(answers.map((answer) => (JSON.parse(answer.slice(4)) as { id: string }).id));
    expect(ids.size).toBe(1);
    const [id] = [...ids];
    expect(await storedJobIds(inspector)).toEqual([id]);
    expect((await accounting(inspector)).reserved).toEqual({ [id]: `${jobBytes} ${accountOf(KEY, t.settings)}` });
  });
});
