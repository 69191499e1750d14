import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { JobStore, type StoredText, type Submission } from '../../src/jobs/job-store.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { accounting, inspectorOf, newJobRecord, type Inspector } from './job-redis-state.js';

/** A job's life in the store the test's jobs expire from (the setting's least is 60 s). */
const SHORT_TTL_SECONDS = 1;
/** A job's life in the store for the rest: longer than the test, so none expires under a busy CPU. */
const TTL_SECONDS = 600;
const QUOTA = 1_000_000;
const CHUNKS = 3;

/**
 * The job store's bookkeeping when a job outlives its keys: its record, texts and reservation
 * expire `JOB_RESULT_TTL_SECONDS` after its last change, whether or not a worker ever took its chunks (a long
 * backlog, an outage of every worker). Its chunks still counted in its account's backlog would
 * queue that account's later jobs further back for good: they must leave it when it expires.
 */
describe('a job that expires before its chunks are answered (JobStore on a real Redis)', () => {
  let redis: RedisServer;
  let client: Redis;
  let inspector: Inspector;
  let store: JobStore;
  /** The same store with a 1 s TTL (as a replica with another setting would be). */
  let expiring: JobStore;

  const texts: StoredText[] = [['a text', null, 1]];
  const json = JSON.stringify(texts);

  /**
   * Reserves, stages and creates a job of {@link CHUNKS} chunks, as a submission does at `now`;
   * returns the chunks waiting before it.
   */
  async function submit(submission: Submission, { into = store, now = Date.now() } = {}): Promise<number> {
    for (let chunk = 0; chunk < CHUNKS; chunk++) {
      expect(await into.reserve(submission, json.length, QUOTA, now)).toBeUndefined();
      await into.stageChunk(submission.id, chunk, json);
    }
    return into.create(submission, record(submission), '');
  }

  const record = (submission: Submission) => newJobRecord(submission, CHUNKS, CHUNKS);

  beforeAll(async () => {
    redis = await startRedisServer({ own: true });
    client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    inspector = await inspectorOf(redis.url);
    store = new JobStore(client, TTL_SECONDS);
    expiring = new JobStore(client, SHORT_TTL_SECONDS);
  });
  afterAll(async () => {
    await inspector?.quit();
    await client?.quit();
    await redis?.stop();
  });

  it('its chunks leave its account’s backlog once its reservation lapses, and the next job queues as if none waited', async () => {
    const account = 'account-x';
    const expired = { id: randomUUID(), owner: account, account };
    expect(await submit(expired, { into: expiring })).toBe(0);
    expect((await accounting(inspector)).waiting).toEqual({ [account]: CHUNKS });

    // Past its expiry (Redis drops a key past its TTL on the next access, so this is not a race).
    await sleep(SHORT_TTL_SECONDS * 1000 + 500);
    expect(await store.get(expired.id)).toBeUndefined();

    // The next submission of the account releases the lapsed reservation first.
    const next = { id: randomUUID(), owner: account, account };
    expect(await submit(next)).toBe(0);
    const { waiting, reserved, unanswered } = await accounting(inspector);
    expect(waiting).toEqual({ [account]: CHUNKS });
    expect(Object.keys(reserved)).toEqual([next.id]);
    expect(unanswered).toEqual({ [next.id]: CHUNKS });

    // Its chunks answered one by one, nothing of either job is left in the bookkeeping.
    const job = record(next);
    for (let chunk = 0; chunk < CHUNKS; chunk++) {
      expect(await store.recordChunk(job, chunk, '{}\n', 1, 0, Date.now())).toBe(true);
    }
    expect(await store.get(next.id)).toMatchObject({ state: 'completed' });
    expect(await accounting(inspector)).toMatchObject({ waiting: {}, unanswered: {} });
  });

  it('a job ended before it expires leaves the backlog once, not again when its reservation lapses', async () => {
    const account = 'account-y';
    const failed = { id: randomUUID(), owner: account, account };
    await submit(failed);
    const job = record(failed);
    expect(await store.recordChunk(job, 0, '{}\n', 1, 0, Date.now())).toBe(true);
    expect(await store.end(job, 'failed', Date.now(), 'chunk 1 failed')).toBe(true);
    expect((await accounting(inspector)).waiting[account]).toBeUndefined();

    // Another account's job, submitted once the failed job's reservation has lapsed, releases it:
    // that must take nothing more off either account's backlog.
    const other = { id: randomUUID(), owner: 'account-z', account: 'account-z' };
    expect(await submit(other, { now: Date.now() + TTL_SECONDS * 1000 + 1 })).toBe(0);
    expect((await accounting(inspector)).reserved[failed.id]).toBeUndefined();
    const later = { id: randomUUID(), owner: account, account };
    expect(await submit(later)).toBe(0);
    const { waiting, unanswered } = await accounting(inspector);
    expect(waiting).toEqual({ [account]: CHUNKS, 'account-z': CHUNKS });
    expect(unanswered).toEqual({ [other.id]: CHUNKS, [later.id]: CHUNKS });
  });
});
