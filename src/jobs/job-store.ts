import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import type { LongTextMode } from '../inference/long-text.js';

/** A job's life: waiting for a worker, worked on, and one of the three ends. */
export type JobState = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';

/** What a job is, as stored: who owns it, its size and progress. Times are epoch milliseconds. */
export interface JobRecord {
  id: string;
  /** Who may read and cancel it: the API key's identity (`tenantOf` in tenant scope), or its job token's. */
  owner: string;
  /**
   * Whom its storage and queue position are charged to: the API key's identity, or one account
   * for every caller without API keys (a new token per job must not mean a new quota).
   */
  account: string;
  /** The key's cache scope; empty when cache entries are shared. */
  cacheTenant: string;
  state: JobState;
  total: number;
  chunks: number;
  done: number;
  cacheHits: number;
  createdAt: number;
  startedAt?: number;
  finishedAt?: number;
  error?: string;
  /** Its chunks are on the queue: false only while its submission is still queueing them. */
  chunksQueued: boolean;
  /** How every chunk reads texts longer than the model's window (the submission's `long_text`). */
  longText: LongTextMode;
}

/** One text of a chunk as stored: [text, the caller's id or null, its line]. */
export type StoredText = [string, string | null, number];

/**
 * The share of the jobs Redis's `maxmemory` that jobs may reserve: the rest is for what the byte
 * count does not see (BullMQ's chunk entries, Redis's per-key overhead, client buffers), so Redis
 * never refuses a write to a job already admitted.
 */
const STORE_BUDGET_SHARE = 0.8;
/** A chunk's keys beside its texts: the staged key, its results field, BullMQ's job hash. */
const CHUNK_OVERHEAD_BYTES = 2048;
/**
 * A result line beside its id: `{"line":<n>,"id":,"predictions":[...]}` with two labels of up to
 * 16 characters and scores of up to 24 (`1.2345678901234567e-7`), rounded up.
 */
const RESULT_LINE_FRAME_BYTES = 160;

/** Bytes a chunk holds in the store while its job lives: its staged texts and its results. */
export function chunkBytes(texts: StoredText[], staged: string): number {
  let bytes = CHUNK_OVERHEAD_BYTES + Buffer.byteLength(staged);
  for (const [, id, line] of texts) {
    bytes += RESULT_LINE_FRAME_BYTES + String(line).length + (id === null ? 0 : Buffer.byteLength(JSON.stringify(id)));
  }
  return bytes;
}

/**
 * Every key in one Redis Cluster hash tag, so one slot: a cluster runs a script only on keys of one
 * slot, and the scripts touch a job's keys and the store-wide ones together (docs/JOBS.md).
 */
const PREFIX = '{sentiment:jobs}';
/** Every job's byte reservation, scored by when it expires: the one place reservations lapse. */
const RESERVATIONS = `${PREFIX}:reservations`;
/** Job id → "<bytes> <account>" of its reservation. */
const RESERVED = `${PREFIX}:reserved`;
/** Account → bytes its unexpired jobs hold, and the store-wide total under {@link TOTAL_FIELD}. */
const HELD = `${PREFIX}:held`;
const TOTAL_FIELD = '*';
/** Account → its chunks not yet answered: how far back in the queue its next chunk goes. */
const WAITING = `${PREFIX}:waiting`;
/**
 * Job id → its chunks not yet answered, until it ends: what its account's {@link WAITING} still
 * counts for it when its reservation lapses (the job expired before its chunks ran, whose answers
 * would have counted them off), so an expired job never keeps its account further back for good.
 */
const UNANSWERED = `${PREFIX}:unanswered`;
/** A claimed Idempotency-Key's digest while its submission still reads the body. */
const PENDING = '-';
/** Lapsed reservations released per call, so one call never blocks Redis for long. */
const RELEASES_PER_CALL = 1000;
/**
 * The store-wide keys, passed to the scripts that use them after their own keys (a cluster refuses
 * a script a key it does not declare), and named by {@link STORE_KEYS_LUA}.
 */
const STORE_KEYS = [RESERVATIONS, RESERVED, HELD, WAITING, UNANSWERED];
const STORE_KEYS_LUA = `local RESERVATIONS, RESERVED, HELD, WAITING, UNANSWERED = unpack(KEYS, #KEYS - ${STORE_KEYS.length - 1})`;

/**
 * Lua shared by the scripts that touch reservations: `unwait(account, n)` takes n answered or
 * dropped chunks off the account's queue position, `settle(id, account, untracked)` takes off
 * those of a job that ends or expires (once; `untracked` counts them for a job stored before
 * {@link UNANSWERED} existed), `release(id)` gives a job's bytes back to its account and the
 * store and settles it, and `lapse(now)` releases the reservations that have expired.
 */
const RESERVATION_LUA = `
${STORE_KEYS_LUA}
local function unwait(account, n)
  if n > 0 and redis.call('HINCRBY', WAITING, account, -n) <= 0 then redis.call('HDEL', WAITING, account) end
end
local function settle(id, account, untracked)
  local n = tonumber(redis.call('HGET', UNANSWERED, id) or untracked)
  redis.call('HDEL', UNANSWERED, id)
  unwait(account, n)
end
local function release(id)
  local held = redis.call('HGET', RESERVED, id)
  if not held then return end
  local bytes, account = string.match(held, '^(%d+) (.*)$')
  settle(id, account, 0)
  if redis.call('HINCRBY', HELD, account, -tonumber(bytes)) <= 0 then redis.call('HDEL', HELD, account) end
  redis.call('HINCRBY', HELD, '${TOTAL_FIELD}', -tonumber(bytes))
  redis.call('HDEL', RESERVED, id)
  redis.call('ZREM', RESERVATIONS, id)
end
local function lapse(now)
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', RESERVATIONS, '-inf', now, 'LIMIT', 0, ${RELEASES_PER_CALL})) do
    release(id)
  end
end
`;

/**
 * Adds bytes to a job's reservation if its account's quota and the store's budget have room.
 * Returns {0} when reserved; {1} when the job alone is larger than the quota; {2, epoch ms} when
 * the account's other jobs hold the room (when the first of them lapses); {3} when the store is full.
 */
const RESERVE = `${RESERVATION_LUA}
local id, account, bytes, quota, budget = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local now, expiresAt = tonumber(ARGV[6]), tonumber(ARGV[7])
lapse(now)
local mine = tonumber(string.match(redis.call('HGET', RESERVED, id) or '0 ', '^(%d+)'))
if mine + bytes > quota then return {1} end
if tonumber(redis.call('HGET', HELD, account) or '0') + bytes > quota then
  local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2]
  return {2, tonumber(first or expiresAt)}
end
if budget > 0 and tonumber(redis.call('HGET', HELD, '${TOTAL_FIELD}') or '0') + bytes > budget then return {3} end
redis.call('HSET', RESERVED, id, (mine + bytes) .. ' ' .. account)
redis.call('HINCRBY', HELD, account, bytes)
redis.call('HINCRBY', HELD, '${TOTAL_FIELD}', bytes)
redis.call('ZADD', RESERVATIONS, expiresAt, id)
redis.call('ZADD', KEYS[1], expiresAt, id)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('PEXPIREAT', KEYS[1], expiresAt)
return {0}`;

/**
 * Creates a job's record and binds its Idempotency-Key (KEYS[2], claimed by this submission; none
 * when ARGV[3] is empty) to it and its body's digest in the same step. Returns the account's chunks
 * waiting before this job's.
 */
const CREATE = `
${STORE_KEYS_LUA}
local id, account, bodyHash, ttl, chunks = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
if bodyHash ~= '' then redis.call('SET', KEYS[2], id .. ' ' .. bodyHash, 'EX', ttl) end
redis.call('HSET', KEYS[1], unpack(ARGV, 6))
redis.call('EXPIRE', KEYS[1], ttl)
if chunks > 0 then redis.call('HSET', UNANSWERED, id, chunks) end
return redis.call('HINCRBY', WAITING, account, chunks) - chunks`;

/**
 * Undoes a submission that failed after its record was created: the record, its key binding (KEYS[3]
 * when ARGV[3] is 1, if it still names this job), its reservation and its place in the queue.
 */
const ROLL_BACK = `${RESERVATION_LUA}
local id, account, keyed = ARGV[1], ARGV[2], ARGV[3] == '1'
local counts = redis.call('HMGET', KEYS[1], 'chunks', 'chunksDone')
if counts[1] then
  redis.call('DEL', KEYS[1])
  settle(id, account, tonumber(counts[1]) - tonumber(counts[2]))
end
redis.call('ZREM', KEYS[2], id)
if keyed and string.match(redis.call('GET', KEYS[3]) or '', '^(%S+)') == id then redis.call('DEL', KEYS[3]) end
release(id)`;

/** Records one chunk's results once, whatever retries run it (a stalled chunk is run again). */
const RECORD_CHUNK = `${RESERVATION_LUA}
local state = redis.call('HGET', KEYS[1], 'state')
if state ~= 'queued' and state ~= 'running' then return 0 end
if redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('DEL', KEYS[3])
redis.call('HINCRBY', KEYS[1], 'done', ARGV[3])
redis.call('HINCRBY', KEYS[1], 'cacheHits', ARGV[4])
local chunksDone = redis.call('HINCRBY', KEYS[1], 'chunksDone', 1)
if chunksDone == tonumber(redis.call('HGET', KEYS[1], 'chunks')) then
  redis.call('HSET', KEYS[1], 'state', 'completed', 'finishedAt', ARGV[5])
end
if redis.call('HINCRBY', UNANSWERED, ARGV[8], -1) <= 0 then redis.call('HDEL', UNANSWERED, ARGV[8]) end
unwait(ARGV[9], 1)
redis.call('EXPIRE', KEYS[1], ARGV[6])
redis.call('EXPIRE', KEYS[2], ARGV[6])
redis.call('ZADD', RESERVATIONS, 'XX', ARGV[7], ARGV[8])
redis.call('ZADD', KEYS[4], 'XX', ARGV[7], ARGV[8])
return 1`;

const MARK_QUEUED = `
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'chunksQueued', 1) end`;

const START = `
if redis.call('HGET', KEYS[1], 'state') == 'queued' then
  redis.call('HSET', KEYS[1], 'state', 'running', 'startedAt', ARGV[1])
end`;

/**
 * Ends a job that has not ended; returns 1 when this call ended it. Its chunks not answered leave
 * its account's queue position; a cancelled job's results and reservation go.
 */
const END = `${RESERVATION_LUA}
local state = redis.call('HGET', KEYS[1], 'state')
if state ~= 'queued' and state ~= 'running' then return 0 end
redis.call('HSET', KEYS[1], 'state', ARGV[1], 'finishedAt', ARGV[2], 'error', ARGV[3])
local fields = redis.call('HMGET', KEYS[1], 'chunks', 'chunksDone', 'account')
settle(ARGV[4], fields[3], tonumber(fields[1]) - tonumber(fields[2]))
if ARGV[1] == 'cancelled' then
  redis.call('DEL', KEYS[2])
  redis.call('ZREM', KEYS[3], ARGV[4])
  release(ARGV[4])
end
return 1`;

/** Why a reservation was refused; see {@link JobStore.reserve}. */
export type Refusal =
  { reason: 'job-over-quota' } | { reason: 'account-over-quota'; retryAt: number } | { reason: 'store-full' };

/** What one submission asks of the store, so its record can be created or rolled back. */
export interface Submission {
  id: string;
  owner: string;
  account: string;
  /** The Idempotency-Key, when the caller sent one. */
  idempotencyKey?: string;
}

/** What an Idempotency-Key names: a job, and its body's digest once its submission has read it all. */
export interface Binding {
  id: string;
  /** Undefined while the submission that claimed the key is still reading its body. */
  bodyHash?: string;
}

export class JobStore {
  constructor(
    private readonly redis: Redis | Cluster,
    private readonly ttlSeconds: number,
  ) {}

  /** Set while this Redis may evict keys and production refuses it: why, for the 503 and the log. */
  refusal?: string;
  /**
   * Bytes all accounts' jobs may hold together: a share of the Redis's `maxmemory` (0: no limit
   * known), so a job admitted can always store its results without Redis refusing a write.
   */
  budgetBytes = 0;

  /** Connected to Redis now. */
  isUp(): boolean {
    return this.redis.status === 'ready';
  }

  /**
   * Reads the Redis's memory settings. A Redis that evicts keys when full drops jobs and results
   * to make room (one tenant's flood erases another's results), so jobs need `maxmemory-policy
   * noeviction`: with `required` (production) any other policy refuses the store. Sets the budget
   * from `maxmemory`. Returns the policy read.
   */
  async checkMemory(required: boolean): Promise<string> {
    const memory = await this.redis.info('memory');
    const policy = /^maxmemory_policy:(\S+)/m.exec(memory)?.[1] ?? 'unknown';
    this.refusal =
      required && policy !== 'noeviction'
        ? `The jobs Redis (JOBS_REDIS_URL) has maxmemory-policy ${policy}, which evicts jobs and results when memory is full; jobs need noeviction.`
        : undefined;
    const maxmemory = Number(/^maxmemory:(\d+)/m.exec(memory)?.[1] ?? 0);
    this.budgetBytes = Math.floor(maxmemory * STORE_BUDGET_SHARE);
    return policy;
  }

  /** QUIT; a Redis that does not answer it is dropped by the caller (RedisClients). */
  async close(): Promise<void> {
    await this.redis.quit();
  }

  /** Stores a chunk's texts, serialised (`JSON.stringify` of its {@link StoredText}s). */
  async stageChunk(id: string, chunk: number, staged: string): Promise<void> {
    await this.redis.set(inputKey(id, chunk), staged, 'EX', this.ttlSeconds);
  }

  async chunkTexts(id: string, chunk: number): Promise<StoredText[] | undefined> {
    const raw = await this.redis.get(inputKey(id, chunk));
    return raw === null ? undefined : (JSON.parse(raw) as StoredText[]);
  }

  async dropStaged(id: string, chunks: number): Promise<void> {
    const keys = Array.from({ length: chunks }, (_, chunk) => inputKey(id, chunk));
    if (keys.length > 0) await this.redis.del(...keys);
  }

  /**
   * Claims `idempotencyKey` for this submission (until its job is created or it rolls back):
   * undefined when claimed, else what the key names already.
   */
  async claimIdempotencyKey({ id, owner, idempotencyKey }: Submission): Promise<Binding | undefined> {
    const key = idempotencyKeyOf(owner, idempotencyKey!);
    if ((await this.redis.set(key, `${id} ${PENDING}`, 'EX', this.ttlSeconds, 'NX')) === 'OK') return undefined;
    return (await this.binding(owner, idempotencyKey!)) ?? { id: '' };
  }

  /** What `idempotencyKey` names for this owner, if anything. */
  async binding(owner: string, idempotencyKey: string): Promise<Binding | undefined> {
    const bound = await this.redis.get(idempotencyKeyOf(owner, idempotencyKey));
    if (bound === null) return undefined;
    const [id, bodyHash] = bound.split(' ');
    return { id, bodyHash: bodyHash === PENDING ? undefined : bodyHash };
  }

  /**
   * Adds `bytes` to a job's reservation in its account's quota and the store's budget, before they
   * are stored; undefined when reserved. A reservation lapses with the job's keys.
   */
  async reserve({ id, account }: Submission, bytes: number, quota: number, now: number): Promise<Refusal | undefined> {
    const [code, retryAt] = (await this.withStoreKeys(
      RESERVE,
      [accountReservationsKey(account)],
      id,
      account,
      bytes,
      quota,
      this.budgetBytes,
      now,
      now + this.ttlSeconds * 1000,
    )) as number[];
    if (code === 0) return undefined;
    if (code === 1) return { reason: 'job-over-quota' };
    if (code === 2) return { reason: 'account-over-quota', retryAt };
    return { reason: 'store-full' };
  }

  /**
   * Creates the job's record and binds its claimed Idempotency-Key to it and `bodyHash` in the
   * same step; returns how many of the account's chunks wait before this job's.
   */
  async create(submission: Submission, record: JobRecord, bodyHash: string): Promise<number> {
    const { id, owner, account, cacheTenant, state, total, chunks, createdAt, longText } = record;
    const fields = {
      owner,
      account,
      cacheTenant,
      state,
      total,
      chunks,
      done: 0,
      cacheHits: 0,
      chunksDone: 0,
      createdAt,
      chunksQueued: 0,
      longText,
    };
    const keyed = submission.idempotencyKey !== undefined;
    return (await this.withStoreKeys(
      CREATE,
      [metaKey(id), keyed ? idempotencyKeyOf(owner, submission.idempotencyKey!) : metaKey(id)],
      id,
      account,
      keyed ? bodyHash : '',
      this.ttlSeconds,
      chunks,
      ...Object.entries(fields).flat(),
    )) as number;
  }

  /**
   * Removes everything a failed submission stored: staged chunks, results, the record and its key
   * binding (when this submission created them), its reservation and its place in the account's queue.
   */
  async rollBack(submission: Submission, stagedChunks: number): Promise<void> {
    const { id, owner, account, idempotencyKey } = submission;
    const keys = [metaKey(id), accountReservationsKey(account)];
    if (idempotencyKey !== undefined) keys.push(idempotencyKeyOf(owner, idempotencyKey));
    await this.withStoreKeys(ROLL_BACK, keys, id, account, idempotencyKey === undefined ? 0 : 1);
    // A worker may have answered a chunk already queued before the submission failed.
    await this.redis.del(resultsKey(id));
    await this.dropStaged(id, stagedChunks);
  }

  async get(id: string): Promise<JobRecord | undefined> {
    const fields = await this.redis.hgetall(metaKey(id));
    if (!fields.state) return undefined;
    const optional = (name: string) => (fields[name] ? Number(fields[name]) : undefined);
    return {
      id,
      owner: fields.owner,
      account: fields.account ?? fields.owner,
      cacheTenant: fields.cacheTenant,
      state: fields.state as JobState,
      total: Number(fields.total),
      chunks: Number(fields.chunks),
      done: Number(fields.done),
      cacheHits: Number(fields.cacheHits),
      createdAt: Number(fields.createdAt),
      startedAt: optional('startedAt'),
      finishedAt: optional('finishedAt'),
      error: fields.error || undefined,
      // Jobs stored before this flag existed had their chunks queued when they were created.
      chunksQueued: fields.chunksQueued !== '0',
      // Jobs stored before `long_text` existed were truncated.
      longText: fields.longText === 'chunk' ? 'chunk' : 'truncate',
    };
  }

  /** Marks the job's chunks queued (a job rolled back meanwhile stays gone). */
  async markQueued(id: string): Promise<void> {
    await this.redis.eval(MARK_QUEUED, 1, metaKey(id));
  }

  async markStarted(id: string, now: number): Promise<void> {
    await this.redis.eval(START, 1, metaKey(id), now);
  }

  /** Stores a chunk's result lines once; false when they were stored already or the job ended. */
  async recordChunk(job: JobRecord, chunk: number, lines: string, texts: number, cacheHits: number, now: number) {
    const recorded = await this.withStoreKeys(
      RECORD_CHUNK,
      [metaKey(job.id), resultsKey(job.id), inputKey(job.id, chunk), accountReservationsKey(job.account)],
      chunk,
      lines,
      texts,
      cacheHits,
      now,
      this.ttlSeconds,
      now + this.ttlSeconds * 1000,
      job.id,
      job.account,
    );
    return recorded === 1;
  }

  /** Ends a job still queued or running as failed or cancelled (cancelled drops its results and reservation). */
  async end(job: JobRecord, state: 'failed' | 'cancelled', now: number, error = ''): Promise<boolean> {
    const ended = await this.withStoreKeys(
      END,
      [metaKey(job.id), resultsKey(job.id), accountReservationsKey(job.account)],
      state,
      now,
      error,
      job.id,
    );
    return ended === 1;
  }

  /** Runs a script on its own keys, then the store-wide ones it names with {@link STORE_KEYS_LUA}. */
  private withStoreKeys(script: string, keys: string[], ...args: (string | number)[]): Promise<unknown> {
    return this.redis.eval(script, keys.length + STORE_KEYS.length, ...keys, ...STORE_KEYS, ...args);
  }

  /** The result lines of the chunks done in a row from the first, one NDJSON block per chunk. */
  async *finishedPrefix(job: JobRecord): AsyncGenerator<string> {
    const client = this.redis;
    for (let chunk = 0; chunk < job.chunks; chunk++) {
      const block = await client.hget(resultsKey(job.id), String(chunk));
      if (block === null) return;
      yield block;
    }
  }
}

function metaKey(id: string): string {
  return `${PREFIX}:${id}`;
}

function inputKey(id: string, chunk: number): string {
  return `${PREFIX}:${id}:input:${chunk}`;
}

function resultsKey(id: string): string {
  return `${PREFIX}:${id}:results`;
}

/** The account's reservations by when they lapse, for a refused submission's Retry-After. */
function accountReservationsKey(account: string): string {
  return `${PREFIX}:held-by:${account}`;
}

function idempotencyKeyOf(owner: string, key: string): string {
  // Hashed: the caller's string never becomes part of a Redis key.
  return `${PREFIX}:idempotency:${owner}:${createHash('sha256').update(key).digest('hex')}`;
}
