import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createClient } from 'redis';
import { callerOf } from '../../src/auth/caller.js';
import type { Settings } from '../../src/config/settings.js';
import type { JobRecord, Submission } from '../../src/jobs/job-store.js';
import { until } from '../support/until.js';

/** A node-redis client of the tests' own, to look at what the job store left in Redis. */
export type Inspector = ReturnType<typeof createClient>;

export async function inspectorOf(url: string): Promise<Inspector> {
  const client = createClient({ url });
  await client.connect();
  return client;
}

const JOB_KEY = /^\{sentiment:jobs\}:([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(:|$)/;
const CHUNK_KEY = /^\{bull\}:sentiment-job-chunks:([0-9a-f-]{36})_\d+(:|$)/;

/** Ids of the jobs with any key in the job store (record, staged input, results). */
export async function storedJobIds(redis: Inspector): Promise<string[]> {
  const ids = (await redis.keys('{sentiment:jobs}:*')).map((key) => JOB_KEY.exec(key)?.[1]);
  return [...new Set(ids.filter((id) => id !== undefined))].sort();
}

/** Ids of the jobs with any chunk on BullMQ's queue (its job hash, lock or logs). */
export async function queuedJobIds(redis: Inspector): Promise<string[]> {
  const ids = (await redis.keys('{bull}:sentiment-job-chunks:*')).map((key) => CHUNK_KEY.exec(key)?.[1]);
  return [...new Set(ids.filter((id) => id !== undefined))].sort();
}

/** Every key the job store or the queue holds for one job id. */
export async function keysOfJob(redis: Inspector, id: string): Promise<string[]> {
  return [
    ...(await redis.keys(`{sentiment:jobs}:${id}*`)),
    ...(await redis.keys(`{bull}:sentiment-job-chunks:${id}_*`)),
  ];
}

/** The chunk ids of a job on BullMQ's sorted sets and lists (waiting, prioritized, active, delayed...). */
export async function chunkEntriesOfJob(redis: Inspector, id: string): Promise<string[]> {
  const found: string[] = [];
  for (const key of await redis.keys('{bull}:sentiment-job-chunks:*')) {
    if (CHUNK_KEY.test(key)) continue;
    const type = await redis.type(key);
    const members =
      type === 'zset'
        ? await redis.zRange(key, 0, -1)
        : type === 'list'
          ? await redis.lRange(key, 0, -1)
          : type === 'set'
            ? await redis.sMembers(key)
            : [];
    found.push(...members.filter((member) => member.startsWith(`${id}_`)).map((member) => `${key} ${member}`));
  }
  return found;
}

/**
 * The store's bookkeeping: bytes held per account (`*`: all), reservations per job, chunks waiting
 * per account, and per job its chunks not yet answered.
 */
export async function accounting(redis: Inspector): Promise<{
  held: Record<string, number>;
  reserved: Record<string, string>;
  waiting: Record<string, number>;
  unanswered: Record<string, number>;
}> {
  const numbers = (hash: Record<string, string>) =>
    Object.fromEntries(Object.entries(hash).map(([field, value]) => [field, Number(value)]));
  return {
    held: numbers(await redis.hGetAll('{sentiment:jobs}:held')),
    reserved: await redis.hGetAll('{sentiment:jobs}:reserved'),
    waiting: numbers(await redis.hGetAll('{sentiment:jobs}:waiting')),
    unanswered: numbers(await redis.hGetAll('{sentiment:jobs}:unanswered')),
  };
}

/** Idempotency-Key bindings for this key, whoever's (the key is stored as its SHA-256). */
export async function idempotencyBindings(redis: Inspector, idempotencyKey: string): Promise<string[]> {
  const digest = createHash('sha256').update(idempotencyKey).digest('hex');
  return redis.keys(`{sentiment:jobs}:idempotency:*:${digest}`);
}

/** The account (and owner) the service charges an API key's jobs to. */
export function accountOf(apiKey: string, settings: Settings): string {
  return callerOf(apiKey, settings).identity!;
}

/** Redis's count of OOM errors answered (`errorstat_OOM`), 0 when it never answered one. */
export async function oomErrors(redis: Inspector): Promise<number> {
  const stats = await redis.info('errorstats');
  return Number(/^errorstat_OOM:count=(\d+)/m.exec(stats)?.[1] ?? 0);
}

/** Waits (bounded) until nothing of the job is left on the queue: a chunk a worker held is removed once done. */
export async function untilNoChunksOf(redis: Inspector, id: string, timeoutMs = 10_000): Promise<void> {
  await until(
    async () =>
      (await redis.keys(`{bull}:sentiment-job-chunks:${id}_*`)).length === 0 &&
      (await chunkEntriesOfJob(redis, id)).length === 0,
    timeoutMs,
  ).catch(async (error: Error) => {
    throw new Error(
      `${error.message}: job ${id} still has ${JSON.stringify([
        ...(await redis.keys(`{bull}:sentiment-job-chunks:${id}_*`)),
        ...(await chunkEntriesOfJob(redis, id)),
      ])}`,
    );
  });
}

/** The base URL of an app listening on a port of its own. */
export function baseUrlOf(server: { address(): unknown }): string {
  const { port } = server.address() as AddressInfo;
  return `http://127.0.0.1:${port}`;
}

/** A new job's record as a submission creates it, for tests that drive JobStore directly. */
export function newJobRecord(submission: Submission, chunks: number, total: number): JobRecord {
  return {
    id: submission.id,
    owner: submission.owner,
    account: submission.account,
    cacheTenant: '',
    state: 'queued',
    total,
    chunks,
    done: 0,
    cacheHits: 0,
    createdAt: Date.now(),
    chunksQueued: false,
    longText: 'truncate',
  };
}
