import { freshTexts } from '../cache/cache-test-helpers.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { testSettings } from '../support/test-app.js';
import type { Settings } from '../../src/config/settings.js';
import { acceptedJob, JobClient, ndjson } from './job-client.js';
import { startFaultyJobsApp, type FaultTiming, type FaultyJobsApp, type FaultyStep } from './faulty-jobs-app.js';
import {
  accountOf,
  accounting,
  baseUrlOf,
  chunkEntriesOfJob,
  idempotencyBindings,
  inspectorOf,
  keysOfJob,
  storedJobIds,
  untilNoChunksOf,
  type Inspector,
} from './job-redis-state.js';

/** 100 texts a chunk: a 500-text body is 5 chunks, so a fault can strike mid-body. */
const CHUNK_TEXTS = 100;
const TEXTS = 500;

/** The injected faults, each against an API key (an account) of its own. */
const FAULTS: { step: FaultyStep; call: number; timing: FaultTiming }[] = [
  { step: 'stageChunk', call: 3, timing: 'before' },
  { step: 'stageChunk', call: 3, timing: 'after' },
  { step: 'reserve', call: 3, timing: 'before' },
  { step: 'reserve', call: 3, timing: 'after' },
  { step: 'create', call: 1, timing: 'before' },
  { step: 'create', call: 1, timing: 'after' },
  { step: 'addBulk', call: 1, timing: 'before' },
  { step: 'addBulk', call: 1, timing: 'after' },
  { step: 'markQueued', call: 1, timing: 'before' },
  { step: 'markQueued', call: 1, timing: 'after' },
];
const faultKey = ({ step, timing }: { step: FaultyStep; timing: FaultTiming }) =>
  `fault-${step}-${timing}-key-0123456789`;
const KEY = 'idempotency-key-main-0123456789';
const CONCURRENT_KEY = 'idempotency-key-concurrent-0123';
const WINNER_FAILS_KEY = 'idempotency-key-winner-fails-01';

/** Sum of the bytes of every job's reservation: what `held['*']` must be. */
function reservedTotal(reserved: Record<string, string>): number {
  return Object.values(reserved).reduce((sum, entry) => sum + Number(entry.split(' ')[0]), 0);
}

describe('Idempotency-Key bound to the body (in-process app, real redis-server, faults injected by provider)', () => {
  let redis: RedisServer;
  let inspector: Inspector;
  let settings: Settings;
  let t: FaultyJobsApp;
  let baseUrl: string;

  beforeAll(async () => {
    redis = await startRedisServer({ own: true });
    inspector = await inspectorOf(redis.url);
    settings = testSettings({
      REDIS_URL: redis.url,
      API_KEYS: [KEY, CONCURRENT_KEY, WINNER_FAILS_KEY, ...FAULTS.map(faultKey)].join(','),
      RATE_LIMIT_ENABLED: 'false',
      JOB_CHUNK_TEXTS: String(CHUNK_TEXTS),
    });
    t = await startFaultyJobsApp(settings);
    await t.app.listen(0, '127.0.0.1');
    baseUrl = baseUrlOf(t.app.getHttpServer());
  });
  afterAll(async () => {
    await t?.close();
    await inspector?.disconnect();
    await redis?.stop();
  });

  /** The store's bookkeeping agrees with itself: the store-wide total is the sum of the jobs' reservations. */
  async function expectConsistentAccounting(): Promise<void> {
    const { held, reserved } = await accounting(inspector);
    expect(held['*'] ?? 0).toBe(reservedTotal(reserved));
  }

  /** What a job's reservation holds for its account, in bytes. */
  async function reservationOf(id: string): Promise<{ bytes: number; account: string } | undefined> {
    const entry = (await accounting(inspector)).reserved[id];
    if (entry === undefined) return undefined;
    const [bytes, account] = entry.split(' ');
    return { bytes: Number(bytes), account };
  }

  it('answers the same job for the same key and body, and stores no second job', async () => {
    const client = new JobClient(baseUrl, KEY);
    const body = ndjson(freshTexts(TEXTS, 'same-body'));
    const before = await storedJobIds(inspector);
    const first = await acceptedJob(await client.submit(body, { 'idempotency-key': 'nightly-1' }));
    const again = await acceptedJob(await client.submit(body, { 'idempotency-key': 'nightly-1' }));
    expect(again.id).toBe(first.id);
    expect(again.createdAt).toBe(first.createdAt);
    expect(await storedJobIds(inspector)).toEqual([...before, first.id].sort());
    expect(await client.waitForEnd(first.id, 30_000)).toMatchObject({ state: 'completed', textsDone: TEXTS });
    // Once it is done too, the same key and body still answer it (nothing is run again).
    const done = await acceptedJob(await client.submit(body, { 'idempotency-key': 'nightly-1' }));
    expect(done).toMatchObject({ id: first.id, state: 'completed' });
    const account = accountOf(KEY, settings);
    const { held } = await accounting(inspector);
    expect(held[account]).toBe((await reservationOf(first.id))?.bytes);
    expect(await idempotencyBindings(inspector, 'nightly-1')).toHaveLength(1);
    await expectConsistentAccounting();
  });

  it('refuses the same key with another body with 422 idempotency-key-reused, and creates nothing', async () => {
    const client = new JobClient(baseUrl, KEY);
    const texts = freshTexts(TEXTS, 'first-body');
    const first = await acceptedJob(await client.submit(ndjson(texts), { 'idempotency-key': 'nightly-2' }));
    await client.waitForEnd(first.id, 30_000);
    const before = await storedJobIds(inspector);
    const heldBefore = (await accounting(inspector)).held;
    // Another body altogether, one text more, one text changed.
    const others = [
      ndjson(freshTexts(TEXTS, 'other-body')),
      ndjson([...texts, 'one more']),
      ndjson(texts).replace('r7', 'r8'),
    ];
    for (const other of others) {
      const response = await client.submit(other, { 'idempotency-key': 'nightly-2' });
      expect(response.status).toBe(422);
      expect(await response.json()).toMatchObject({
        type: 'urn:sentiment-api:problem:idempotency-key-reused',
        status: 422,
      });
    }
    expect(await storedJobIds(inspector)).toEqual(before);
    expect((await accounting(inspector)).held).toEqual(heldBefore);
    // The key still names the first job.
    expect((await acceptedJob(await client.submit(ndjson(texts), { 'idempotency-key': 'nightly-2' }))).id).toBe(
      first.id,
    );
    expect(await client.resultLines(first.id)).toHaveLength(TEXTS);
  });

  it('two bodies sent at once with one key: one job, the other 422, nothing of it left', async () => {
    const client = new JobClient(baseUrl, KEY);
    const before = await storedJobIds(inspector);
    const bodies = [ndjson(freshTexts(TEXTS * 2, 'race-a')), ndjson(freshTexts(TEXTS * 2, 'race-b'))];
    const responses = await Promise.all(bodies.map((body) => client.submit(body, { 'idempotency-key': 'race-1' })));
    expect(responses.map((response) => response.status).sort()).toEqual([202, 422]);
    const winner = await acceptedJob(responses.find((response) => response.status === 202)!);
    expect(await storedJobIds(inspector)).toEqual([...before, winner.id].sort());
    expect(await client.waitForEnd(winner.id, 30_000)).toMatchObject({ state: 'completed', textsDone: TEXTS * 2 });
    await expectConsistentAccounting();
  });

  it('8 concurrent identical submissions: all 202 with one id, one job record, one reservation', async () => {
    const client = new JobClient(baseUrl, CONCURRENT_KEY);
    const account = accountOf(CONCURRENT_KEY, settings);
    const total = 2000;
    const body = ndjson(freshTexts(total, 'concurrent'));
    const before = await storedJobIds(inspector);
    const responses = await Promise.all(
      Array.from({ length: 8 }, () => client.submit(body, { 'idempotency-key': 'concurrent-1' })),
    );
    expect(responses.map((response) => response.status)).toEqual(Array(8).fill(202));
    const ids = new Set((await Promise.all(responses.map(acceptedJob))).map((job) => job.id));
    expect(ids.size).toBe(1);
    const [id] = [...ids];
    // The losers staged their chunks and reserved their bytes too: all of it is gone again.
    expect(await storedJobIds(inspector)).toEqual([...before, id].sort());
    const records = (await inspector.keys('{sentiment:jobs}:*')).filter((key) =>
      /^\{sentiment:jobs\}:[0-9a-f-]{36}$/.test(key),
    );
    expect(records.filter((key) => !before.some((old) => key.endsWith(old)))).toEqual([`{sentiment:jobs}:${id}`]);
    const { held, reserved } = await accounting(inspector);
    expect(Object.entries(reserved).filter(([, entry]) => entry.endsWith(` ${account}`))).toEqual([
      [id, expect.stringMatching(/^\d+ /)],
    ]);
    expect(held[account]).toBe((await reservationOf(id))?.bytes);
    expect(await client.waitForEnd(id, 60_000)).toMatchObject({ state: 'completed', textsDone: total });
    expect(await client.resultLines(id)).toHaveLength(total);
    expect((await accounting(inspector)).waiting[account]).toBeUndefined();
    expect((await accounting(inspector)).unanswered[id]).toBeUndefined();
    await expectConsistentAccounting();
  });

  it('concurrent identical submissions whose first one fails: told to retry, and a retry creates one job', async () => {
    const client = new JobClient(baseUrl, WINNER_FAILS_KEY);
    const body = ndjson(freshTexts(TEXTS * 2, 'winner-fails'));
    const before = await storedJobIds(inspector);
    t.faults.arm('markQueued');
    const responses = await Promise.all(
      Array.from({ length: 4 }, () => client.submit(body, { 'idempotency-key': 'winner-fails-1' })),
    );
    expect(t.faults.spent).toBe(true);
    // The one holding the key failed; those that waited for its job, which never came, are told
    // to retry rather than answered a job that does not exist. (One that came after the failure was
    // rolled back holds the key itself and creates the job.)
    const statuses = responses.map((response) => response.status);
    expect(statuses.filter((status) => status === 503).length).toBeGreaterThanOrEqual(1);
    expect(statuses.every((status) => status === 503 || status === 202)).toBe(true);
    for (const response of responses.filter((r) => r.status === 503)) {
      expect(await response.json()).toMatchObject({ type: 'urn:sentiment-api:problem:jobs-unavailable' });
    }
    await untilNoChunksOf(inspector, t.faults.struck!);

    const retried = await client.submit(body, { 'idempotency-key': 'winner-fails-1' });
    expect(retried.status).toBe(202);
    const { id } = await acceptedJob(retried);
    expect(id).not.toBe(t.faults.struck);
    // Whoever created it, the key names one job, and only that job was stored.
    for (const response of responses.filter((r) => r.status === 202)) expect((await acceptedJob(response)).id).toBe(id);
    expect(await storedJobIds(inspector)).toEqual([...before, id].sort());
    expect(await client.waitForEnd(id, 30_000)).toMatchObject({ state: 'completed', textsDone: TEXTS * 2 });
    await expectConsistentAccounting();
  });

  describe.each(FAULTS)('a failure in $step ($timing its write, call $call)', (fault) => {
    it('answers 503, leaves nothing in Redis, and a retry with the same key succeeds', async () => {
      const apiKey = faultKey(fault);
      const account = accountOf(apiKey, settings);
      const client = new JobClient(baseUrl, apiKey);
      const idempotencyKey = `retry-after-${fault.step}-${fault.timing}`;
      const body = ndjson(freshTexts(TEXTS, `${fault.step}-${fault.timing}`));
      const before = await storedJobIds(inspector);

      t.faults.arm(fault.step, fault);
      const response = await client.submit(body, { 'idempotency-key': idempotencyKey });
      expect(t.faults.spent).toBe(true);
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(await response.json()).toMatchObject({ type: 'urn:sentiment-api:problem:jobs-unavailable' });

      const failed = t.faults.struck!;
      // A chunk a worker took before the rollback leaves the queue once it is done (its results refused).
      await untilNoChunksOf(inspector, failed);
      expect(await keysOfJob(inspector, failed)).toEqual([]);
      expect(await chunkEntriesOfJob(inspector, failed)).toEqual([]);
      expect(await storedJobIds(inspector)).toEqual(before);
      expect(await idempotencyBindings(inspector, idempotencyKey)).toEqual([]);
      const { held, reserved, waiting, unanswered } = await accounting(inspector);
      expect({
        held: held[account],
        waiting: waiting[account],
        reserved: reserved[failed],
        unanswered: unanswered[failed],
      }).toEqual({ held: undefined, waiting: undefined, reserved: undefined, unanswered: undefined });
      expect(await inspector.zScore('{sentiment:jobs}:reservations', failed)).toBeNull();
      expect(await inspector.exists(`{sentiment:jobs}:held-by:${account}`)).toBe(0);
      await expectConsistentAccounting();

      const retried = await acceptedJob(await client.submit(body, { 'idempotency-key': idempotencyKey }));
      expect(retried.id).not.toBe(failed);
      expect(await client.waitForEnd(retried.id, 30_000)).toMatchObject({ state: 'completed', textsDone: TEXTS });
      const lines = await client.resultLines(retried.id);
      expect(lines.map((line) => line.id)).toEqual(Array.from({ length: TEXTS }, (_, i) => `r${i}`));
      expect((await acceptedJob(await client.submit(body, { 'idempotency-key': idempotencyKey }))).id).toBe(retried.id);
      expect((await accounting(inspector)).held[account]).toBe((await reservationOf(retried.id))?.bytes);
      expect((await accounting(inspector)).waiting[account]).toBeUndefined();
      expect((await accounting(inspector)).unanswered[retried.id]).toBeUndefined();
    });
  });
});
