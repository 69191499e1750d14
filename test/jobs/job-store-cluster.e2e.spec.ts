import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import calculateSlot from 'cluster-key-slot';
import { Cluster } from 'ioredis';
import { JOB_CHUNK_QUEUE, JOB_QUEUE_PREFIX } from '../../src/jobs/job-queue.js';
import { JobStore, type StoredText, type Submission } from '../../src/jobs/job-store.js';
import { startRedisCluster, type RedisCluster } from '../support/redis-cluster.js';
import { newJobRecord } from './job-redis-state.js';

const TTL_SECONDS = 600;
const QUOTA = 1_000_000;

/**
 * The job store's scripts and BullMQ's queue on an ioredis Cluster client. A cluster runs a script
 * only when every key it touches is declared and in one slot, and refuses any other: each step of a
 * job's life, driven through JobStore, must succeed and leave its effects.
 */
describe('the job store and queue on a 3-master Redis Cluster', () => {
  let cluster: RedisCluster;
  let client: Cluster;
  let store: JobStore;

  const nodes = () => cluster.ports.map((port) => ({ host: '127.0.0.1', port }));
  /** Every key on every master. */
  const allKeys = async (): Promise<string[]> =>
    (await Promise.all(client.nodes('master').map((node) => node.keys('*')))).flat();
  const texts = (chunk: number): StoredText[] => [
    [`text ${chunk}a`, null, chunk * 2 + 1],
    [`text ${chunk}b`, `id-${chunk}`, chunk * 2 + 2],
  ];

  beforeAll(async () => {
    cluster = await startRedisCluster();
    client = new Cluster(nodes(), { redisOptions: { maxRetriesPerRequest: 1 } });
    await new Promise<void>((resolve, reject) => {
      client.once('ready', resolve);
      client.once('error', reject);
    });
    store = new JobStore(client, TTL_SECONDS);
  }, 60_000);

  afterAll(async () => {
    await client?.quit();
    await cluster?.stop();
  });

  it('reads the memory policy', async () => {
    expect(await store.checkMemory(false)).toBe('noeviction');
    expect(store.isUp()).toBe(true);
  });

  it('runs a keyed job from reservation to its results', async () => {
    const submission: Submission = { id: randomUUID(), owner: 'owner-a', account: 'account-a', idempotencyKey: 'k-1' };
    expect(await store.claimIdempotencyKey(submission)).toBeUndefined();
    expect(await store.claimIdempotencyKey({ ...submission, id: randomUUID() })).toEqual({
      id: submission.id,
      bodyHash: undefined,
    });
    for (let chunk = 0; chunk < 2; chunk++) {
      const staged = JSON.stringify(texts(chunk));
      expect(await store.reserve(submission, 1000, QUOTA, Date.now())).toBeUndefined();
      await store.stageChunk(submission.id, chunk, staged);
    }
    expect(await store.chunkTexts(submission.id, 1)).toEqual(texts(1));

    const job = newJobRecord(submission, 2, 4);
    expect(await store.create(submission, job, 'body-digest')).toBe(0);
    expect(await store.binding('owner-a', 'k-1')).toEqual({ id: submission.id, bodyHash: 'body-digest' });
    await store.markQueued(submission.id);
    await store.markStarted(submission.id, Date.now());
    expect(await store.get(submission.id)).toMatchObject({ state: 'running', chunksQueued: true });

    expect(await store.recordChunk(job, 0, 'line 1\nline 2\n', 2, 1, Date.now())).toBe(true);
    expect(await store.recordChunk(job, 0, 'again\n', 2, 1, Date.now())).toBe(false);
    expect(await store.recordChunk(job, 1, 'line 3\nline 4\n', 2, 0, Date.now())).toBe(true);
    expect(await store.get(submission.id)).toMatchObject({ state: 'completed', done: 4, cacheHits: 1 });
    const blocks: string[] = [];
    for await (const block of store.finishedPrefix(job)) blocks.push(block);
    expect(blocks).toEqual(['line 1\nline 2\n', 'line 3\nline 4\n']);
    expect(await store.chunkTexts(submission.id, 0)).toBeUndefined();
    // A completed job ends no more.
    expect(await store.end(job, 'cancelled', Date.now())).toBe(false);
  });

  it('cancels a job, giving its reservation and queue position back', async () => {
    const submission: Submission = { id: randomUUID(), owner: 'owner-b', account: 'account-b' };
    expect(await store.reserve(submission, 5000, QUOTA, Date.now())).toBeUndefined();
    await store.stageChunk(submission.id, 0, JSON.stringify(texts(0)));
    const job = newJobRecord(submission, 3, 6);
    expect(await store.create(submission, job, 'digest')).toBe(0);
    // A second job of the account waits behind the first one's 3 chunks.
    const next: Submission = { id: randomUUID(), owner: 'owner-b', account: 'account-b' };
    expect(await store.create(next, newJobRecord(next, 1, 1), 'digest')).toBe(3);

    expect(await store.end(job, 'cancelled', Date.now(), 'cancelled by its owner')).toBe(true);
    expect(await store.end(job, 'failed', Date.now())).toBe(false);
    expect(await store.get(submission.id)).toMatchObject({ state: 'cancelled' });
    const third: Submission = { id: randomUUID(), owner: 'owner-b', account: 'account-b' };
    expect(await store.create(third, newJobRecord(third, 1, 1), 'digest')).toBe(1);
    // The whole quota is free again: the cancelled job's bytes were released.
    expect(await store.reserve(third, QUOTA, QUOTA, Date.now())).toBeUndefined();
    await store.end(newJobRecord(next, 1, 1), 'failed', Date.now(), 'test');
    await store.end(newJobRecord(third, 1, 1), 'cancelled', Date.now());
  });

  it('refuses reservations over the quota, and rolls a failed submission back', async () => {
    const submission: Submission = { id: randomUUID(), owner: 'owner-c', account: 'account-c', idempotencyKey: 'k-2' };
    expect(await store.reserve(submission, QUOTA + 1, QUOTA, Date.now())).toEqual({ reason: 'job-over-quota' });
    expect(await store.reserve(submission, QUOTA, QUOTA, Date.now())).toBeUndefined();
    const other: Submission = { id: randomUUID(), owner: 'owner-c', account: 'account-c' };
    expect(await store.reserve(other, 1, QUOTA, Date.now())).toMatchObject({ reason: 'account-over-quota' });

    expect(await store.claimIdempotencyKey(submission)).toBeUndefined();
    await store.stageChunk(submission.id, 0, JSON.stringify(texts(0)));
    await store.create(submission, newJobRecord(submission, 1, 2), 'digest');
    await store.rollBack(submission, 1);
    expect(await store.get(submission.id)).toBeUndefined();
    expect(await store.binding('owner-c', 'k-2')).toBeUndefined();
    expect((await allKeys()).filter((key) => key.includes(submission.id))).toEqual([]);
    // Its reservation went too.
    expect(await store.reserve(other, QUOTA, QUOTA, Date.now())).toBeUndefined();
  });

  it('keeps every job-store key in one slot', async () => {
    const keys = (await allKeys()).filter((key) => !key.startsWith(`${JOB_QUEUE_PREFIX}:`));
    expect(keys.length).toBeGreaterThan(5);
    for (const key of keys) expect(key.startsWith('{sentiment:jobs}:')).toBe(true);
    expect(new Set(keys.map((key) => calculateSlot(key))).size).toBe(1);
  });

  it("runs BullMQ's queue and worker under the hash-tag prefix", async () => {
    // BullMQ leaves connections it was given open when it closes: these are ended below, before the
    // cluster stops (else they keep refreshing slots from a cluster that is gone).
    const connections: Cluster[] = [];
    const connection = () => {
      const made = new Cluster(nodes(), { redisOptions: { maxRetriesPerRequest: null } });
      connections.push(made);
      return made;
    };
    const queue = new Queue(JOB_CHUNK_QUEUE, { connection: connection(), prefix: JOB_QUEUE_PREFIX });
    const done: unknown[] = [];
    const worker = new Worker(JOB_CHUNK_QUEUE, (job) => Promise.resolve(done.push(job.data)), {
      connection: connection(),
      prefix: JOB_QUEUE_PREFIX,
    });
    try {
      const jobId = randomUUID();
      await queue.addBulk(
        [0, 1, 2].map((chunk) => ({
          name: 'chunk',
          data: { jobId, chunk },
          opts: { jobId: `${jobId}_${chunk}`, priority: chunk + 1 },
        })),
      );
      const deadline = Date.now() + 10_000;
      while (done.length < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(done).toHaveLength(3);
      expect(await queue.getJobCounts('waiting', 'active', 'delayed', 'completed')).toMatchObject({ completed: 3 });
      const queueKeys = (await allKeys()).filter((key) => key.startsWith(`${JOB_QUEUE_PREFIX}:${JOB_CHUNK_QUEUE}:`));
      expect(queueKeys.length).toBeGreaterThan(3);
      expect(new Set(queueKeys.map((key) => calculateSlot(key))).size).toBe(1);
    } finally {
      await worker.close();
      await queue.close();
      for (const made of connections) made.disconnect();
    }
  }, 30_000);
});
