import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/** A job's life: waiting for a worker, worked on, and one of the three ends. */
export type JobState = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';

/** What a job is, as stored: who owns it, its size and progress. Times are epoch milliseconds. */
export interface JobRecord {
  id: string;
  /** The owning API key's identity (`tenantOf` in tenant scope), or `open` without API keys. */
  owner: string;
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
}

/** One text of a chunk as stored: [text, the caller's id or null, its line]. */
export type StoredText = [string, string | null, number];

const PREFIX = 'sentiment:jobs';

/** Records one chunk's results once, whatever retries run it (a stalled chunk is run again). */
const RECORD_CHUNK = `
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
redis.call('EXPIRE', KEYS[1], ARGV[6])
redis.call('EXPIRE', KEYS[2], ARGV[6])
redis.call('ZADD', KEYS[4], 'XX', ARGV[7], ARGV[8])
return 1`;

const START = `
if redis.call('HGET', KEYS[1], 'state') == 'queued' then
  redis.call('HSET', KEYS[1], 'state', 'running', 'startedAt', ARGV[1])
end`;

/** Ends a job that has not ended; returns 1 when this call ended it. */
const END = `
local state = redis.call('HGET', KEYS[1], 'state')
if state ~= 'queued' and state ~= 'running' then return 0 end
redis.call('HSET', KEYS[1], 'state', ARGV[1], 'finishedAt', ARGV[2], 'error', ARGV[3])
if ARGV[1] == 'cancelled' then
  redis.call('DEL', KEYS[2])
  redis.call('ZREM', KEYS[3], ARGV[4])
end
return 1`;

/**
 * Holds room for a job's texts in its owner's quota: members are "<texts>:<job id>" scored by when
 * they expire. Returns -1 when reserved, else the epoch ms when the oldest held job expires.
 */
const RESERVE = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local held = 0
for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  held = held + tonumber(string.match(member, '^(%d+):'))
end
if held + tonumber(ARGV[3]) > tonumber(ARGV[4]) then
  return tonumber(redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2] or ARGV[1])
end
redis.call('ZADD', KEYS[1], ARGV[5], ARGV[2])
redis.call('PEXPIREAT', KEYS[1], ARGV[5])
return -1`;

/**
 * Jobs in Redis: a status hash per job, its texts staged per chunk until a worker has answered
 * them, its results as one NDJSON block per chunk, each owner's quota, and idempotency keys. Every
 * key expires (`JOB_RESULT_TTL_SECONDS` after the job's last change). Its own ioredis connection,
 * without an offline queue: while Redis is unreachable a call fails at once (the route answers 503)
 * instead of waiting for a reconnect, and job state is never skipped the way the cache skips Redis.
 */
export class JobStore {
  constructor(
    private readonly redis: Redis,
    private readonly ttlSeconds: number,
  ) {}

  /** Set while this Redis may evict keys and production refuses it: why, for the 503 and the log. */
  refusal?: string;

  /** Connected to Redis now. */
  isUp(): boolean {
    return this.redis.status === 'ready';
  }

  /**
   * A Redis that evicts keys when full drops jobs and results to make room (one tenant's flood
   * erases another's results), so jobs need `maxmemory-policy noeviction`: with `required`
   * (production) any other policy refuses the store. Returns the policy read.
   */
  async checkEvictionPolicy(required: boolean): Promise<string> {
    const memory = await this.redis.info('memory');
    const policy = /^maxmemory_policy:(\S+)/m.exec(memory)?.[1] ?? 'unknown';
    this.refusal =
      required && policy !== 'noeviction'
        ? `The jobs Redis (JOBS_REDIS_URL) has maxmemory-policy ${policy}, which evicts jobs and results when memory is full; jobs need noeviction.`
        : undefined;
    return policy;
  }

  /** QUIT; a Redis that does not answer it is dropped by the caller (RedisClients). */
  async close(): Promise<void> {
    await this.redis.quit();
  }

  async stageChunk(id: string, chunk: number, texts: StoredText[]): Promise<void> {
    await this.redis.set(inputKey(id, chunk), JSON.stringify(texts), 'EX', this.ttlSeconds);
  }

  async chunkTexts(id: string, chunk: number): Promise<StoredText[] | undefined> {
    const raw = await this.redis.get(inputKey(id, chunk));
    return raw === null ? undefined : (JSON.parse(raw) as StoredText[]);
  }

  async dropStaged(id: string, chunks: number): Promise<void> {
    const keys = Array.from({ length: chunks }, (_, chunk) => inputKey(id, chunk));
    if (keys.length > 0) await this.redis.del(...keys);
  }

  /** The job that `idempotencyKey` named for this owner, if any. */
  async idempotentJob(owner: string, idempotencyKey: string): Promise<string | undefined> {
    return (await this.redis.get(idempotencyKeyOf(owner, idempotencyKey))) ?? undefined;
  }

  /** Binds the key to `id` unless it names a job already; returns the job it names. */
  async bindIdempotencyKey(owner: string, idempotencyKey: string, id: string): Promise<string> {
    const client = this.redis;
    const key = idempotencyKeyOf(owner, idempotencyKey);
    const set = await client.set(key, id, 'EX', this.ttlSeconds, 'NX');
    return set === 'OK' ? id : ((await client.get(key)) ?? id);
  }

  async releaseIdempotencyKey(owner: string, idempotencyKey: string): Promise<void> {
    await this.redis.del(idempotencyKeyOf(owner, idempotencyKey));
  }

  /** Reserves quota room; undefined when reserved, else the epoch ms when room may free up. */
  async reserveQuota(
    owner: string,
    id: string,
    texts: number,
    quota: number,
    now: number,
  ): Promise<number | undefined> {
    const expiresAt = now + this.ttlSeconds * 1000;
    const answer = (await this.redis.eval(
      RESERVE,
      1,
      quotaKey(owner),
      now,
      quotaMember(texts, id),
      texts,
      quota,
      expiresAt,
    )) as number;
    return answer === -1 ? undefined : answer;
  }

  async create(record: JobRecord): Promise<void> {
    const { id, owner, cacheTenant, state, total, chunks, createdAt } = record;
    await this.redis
      .multi()
      .hset(metaKey(id), { owner, cacheTenant, state, total, chunks, done: 0, cacheHits: 0, chunksDone: 0, createdAt })
      .expire(metaKey(id), this.ttlSeconds)
      .exec();
  }

  async get(id: string): Promise<JobRecord | undefined> {
    const fields = await this.redis.hgetall(metaKey(id));
    if (!fields.state) return undefined;
    const optional = (name: string) => (fields[name] ? Number(fields[name]) : undefined);
    return {
      id,
      owner: fields.owner,
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
    };
  }

  async markStarted(id: string, now: number): Promise<void> {
    await this.redis.eval(START, 1, metaKey(id), now);
  }

  /** Stores a chunk's result lines once; false when they were stored already or the job ended. */
  async recordChunk(job: JobRecord, chunk: number, lines: string, texts: number, cacheHits: number, now: number) {
    const recorded = await this.redis.eval(
      RECORD_CHUNK,
      4,
      metaKey(job.id),
      resultsKey(job.id),
      inputKey(job.id, chunk),
      quotaKey(job.owner),
      chunk,
      lines,
      texts,
      cacheHits,
      now,
      this.ttlSeconds,
      now + this.ttlSeconds * 1000,
      quotaMember(job.total, job.id),
    );
    return recorded === 1;
  }

  /** Ends a job still queued or running as failed or cancelled (cancelled drops its results and quota). */
  async end(job: JobRecord, state: 'failed' | 'cancelled', now: number, error = ''): Promise<boolean> {
    const ended = await this.redis.eval(
      END,
      3,
      metaKey(job.id),
      resultsKey(job.id),
      quotaKey(job.owner),
      state,
      now,
      error,
      quotaMember(job.total, job.id),
    );
    return ended === 1;
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

function quotaKey(owner: string): string {
  return `${PREFIX}:quota:${owner}`;
}

function quotaMember(texts: number, id: string): string {
  return `${texts}:${id}`;
}

function idempotencyKeyOf(owner: string, key: string): string {
  // Hashed: the caller's string never becomes part of a Redis key.
  return `${PREFIX}:idempotency:${owner}:${createHash('sha256').update(key).digest('hex')}`;
}
