import { createHash, randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { Readable } from 'node:stream';
import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { InjectQueue } from '@nestjs/bullmq';
import { PRIORITY_LIMIT, type Queue } from 'bullmq';
import { SETTINGS } from '../config/config.module.js';
import type { Settings } from '../config/settings.js';
import { RETRY_AT_ONCE_SECONDS, UnavailableError } from '../common/unavailable-error.js';
import { ProblemError } from '../http/problem.js';
import { RedisClients } from '../redis/redis-clients.js';
import { settleWithin } from '../common/settle-within.js';
import type { LongTextMode } from '../inference/long-text.js';
import { activeSpanContext, traceparentOf } from '../telemetry/spans.js';
import { readJobLines, refusedMidBody, type JobLine } from './job-lines.js';
import { accountOverQuotaDetail, JOB_NOT_FOUND_DETAIL, JOB_PROBLEM, JOBS_UNAVAILABLE_DETAIL } from './job-problems.js';
import {
  CHUNK_ATTEMPTS,
  CHUNK_BACKOFF_MS,
  chunkJobId,
  JOB_CHUNK_QUEUE,
  JOB_STORE,
  type ChunkData,
} from './job-queue.js';
import {
  chunkBytes,
  type JobRecord,
  type JobStore,
  type Refusal,
  type StoredText,
  type Submission,
} from './job-store.js';

/**
 * Who submits or reads a job: its owner (the API key's identity, or without API keys the job
 * token's), the account its storage and queue position are charged to, and its cache scope.
 */
export interface JobCaller {
  owner: string;
  account: string;
  cacheTenant?: string;
}

/** Options of a whole job, from the submission's query: every chunk is answered with them. */
export interface JobOptions {
  longText: LongTextMode;
}

export interface Submitted {
  job: JobRecord;
  /** False when an Idempotency-Key named a job submitted before. */
  created: boolean;
}

/**
 * BullMQ serves the lowest priority number first (FIFO among equals). Every chunk of a job gets
 * the account's backlog once the job is added: an account with a short backlog goes ahead of one
 * with a long one (a key's 2,000-text job is not queued behind another key's million texts), and
 * an account's later jobs follow its earlier ones. Numbering a job's chunks from the account's
 * backlog upwards instead would leave a heavy account's first chunks with numbers as low as a
 * newcomer's, and the two would only take turns (measured: ×1.9 the newcomer's time alone).
 */
export function jobPriority(waitingBefore: number, chunks: number): number {
  return Math.min(PRIORITY_LIMIT, waitingBefore + chunks);
}

/** How long a failed submission tries to take its chunks off the queue (a chunk left runs for no job). */
const ROLL_BACK_QUEUE_MS = 2000;
/** How long a retry with an Idempotency-Key waits for the submission holding the key to queue its job. */
const CONCURRENT_SUBMISSION_WAIT_MS = 10_000;
/** How often it reads the key meanwhile: short next to a submission's time, one small Redis read each. */
const CONCURRENT_SUBMISSION_POLL_MS = 50;
/** A Redis that evicts keys stays refused until an operator changes its policy: minutes, not seconds. */
const STORE_REFUSED_RETRY_SECONDS = 60;
/** An unreachable Redis is reconnected to within seconds (src/redis/redis-client.ts's backoff). */
const STORE_UNREACHABLE_RETRY_SECONDS = 5;

/**
 * Bulk jobs: takes an NDJSON submission apart into chunks staged in Redis and queued on BullMQ for
 * every replica's workers, answers status and results to the owner only, and cancels.
 */
@Injectable()
export class JobsService implements OnApplicationShutdown {
  private readonly logger = new Logger('Jobs');
  /** Counted by this replica, for metrics. */
  readonly transitions = { submitted: 0, cancelled: 0 };

  constructor(
    @InjectQueue(JOB_CHUNK_QUEUE) private readonly queue: Queue<ChunkData>,
    @Inject(JOB_STORE) private readonly store: JobStore,
    @Inject(SETTINGS) private readonly settings: Settings,
    private readonly clients: RedisClients,
  ) {
    // Without a listener a lost Redis connection would crash the process; routes answer 503 meanwhile.
    queue.on('error', () => undefined);
  }

  /** The queue's connection is BullMQ's (closed with the worker); the store's is closed here. */
  async onApplicationShutdown(): Promise<void> {
    await this.clients.close('jobs-store', () => this.store.close());
  }

  /**
   * Stages the body chunk by chunk as it arrives (memory holds one chunk), each chunk's bytes
   * reserved in the owner's quota before it is stored, then creates the job and queues its chunks.
   * A refusal or failure at any step removes everything this submission stored. An Idempotency-Key
   * binds the job to the body's SHA-256 and its options: the same key with the same body and options
   * answers the same job, with another body or options 422.
   */
  async submit(
    caller: JobCaller,
    body: Readable,
    idempotencyKey?: string,
    options: JobOptions = { longText: 'truncate' },
  ): Promise<Submitted> {
    try {
      const { owner, account } = caller;
      return await this.submitBody({ id: randomUUID(), owner, account, idempotencyKey }, caller, body, options);
    } catch (error) {
      throw refusedMidBody(error, body);
    }
  }

  private async submitBody(
    submission: Submission,
    caller: JobCaller,
    body: Readable,
    options: JobOptions,
  ): Promise<Submitted> {
    this.usable();
    const { id, owner, account, idempotencyKey } = submission;
    const { maxTexts, maxBytes, chunkTexts, storedBytesPerKey } = this.settings.jobs;
    const limits = { maxTexts, maxBytes, maxTextChars: this.settings.maxTextChars };
    const digest = createHash('sha256');
    // What an Idempotency-Key is bound to: the body, and the options when not the defaults (so a
    // binding made before options existed still names its job).
    const submissionHash = () =>
      digest.digest('hex') + (options.longText === 'truncate' ? '' : `;long_text=${options.longText}`);
    if (idempotencyKey !== undefined) {
      const bound = await this.guarded(this.store.claimIdempotencyKey(submission));
      if (bound) {
        // Another submission with this key (earlier, or in flight now) holds it: the body is read,
        // not stored, to tell a retry (same body: its job) from a different submission (422).
        for await (const group of readJobLines(body, limits, chunkTexts, digest)) void group;
        const { job, bodyHash } = await this.settledBinding(owner, idempotencyKey);
        if (bodyHash !== submissionHash()) throw idempotencyKeyReused();
        return { job, created: false };
      }
    }
    let staged = 0;
    let queuedChunks = 0;
    try {
      let total = 0;
      /** What this job has reserved so far. */
      let reserved = 0;
      const groups = readJobLines(body, limits, chunkTexts, digest);
      for await (const group of groups) {
        const { json, bytes } = storedChunk(group);
        const refusal = await this.guarded(this.store.reserve(submission, bytes, storedBytesPerKey, Date.now()));
        if (refusal) {
          throw quotaRefusal(
            await wholeJobRefusal(refusal, groups, reserved + bytes, storedBytesPerKey),
            storedBytesPerKey,
          );
        }
        reserved += bytes;
        // Counted before the write: a write that lands but whose answer is lost is rolled back too.
        await this.guarded(this.store.stageChunk(id, staged++, json));
        total += group.length;
      }
      const job: JobRecord = {
        id,
        owner,
        account,
        cacheTenant: caller.cacheTenant ?? '',
        state: 'queued',
        total,
        chunks: staged,
        done: 0,
        cacheHits: 0,
        createdAt: Date.now(),
        chunksQueued: false,
        longText: options.longText,
      };
      const waitingBefore = await this.guarded(this.store.create(submission, job, submissionHash()));
      queuedChunks = job.chunks;
      await this.guarded(this.enqueue(job, waitingBefore));
      await this.guarded(this.store.markQueued(id));
      job.chunksQueued = true;
      this.transitions.submitted++;
      this.logger.log({ msg: 'job submitted', job: id, texts: total, chunks: staged });
      return { job, created: true };
    } catch (error) {
      // Bounded: the queue's connection waits out a Redis outage, and the caller must get its answer.
      await settleWithin(this.removeChunks(id, queuedChunks), ROLL_BACK_QUEUE_MS);
      await this.store.rollBack(submission, staged).catch((rollBackError: Error) =>
        // What stays behind expires with the job's keys (JOB_RESULT_TTL_SECONDS).
        this.logger.warn({ msg: 'failed submission not removed', job: id, error: rollBackError.message }),
      );
      throw error;
    }
  }

  private async enqueue(job: JobRecord, waitingBefore: number): Promise<void> {
    // Still in the submitting request's context: its span is the one the chunks link back to.
    const submission = activeSpanContext();
    const traceparent = submission && traceparentOf(submission);
    await this.queue.addBulk(
      Array.from({ length: job.chunks }, (_, chunk) => ({
        name: 'chunk',
        data: { jobId: job.id, chunk, traceparent },
        opts: {
          jobId: chunkJobId(job.id, chunk),
          priority: jobPriority(waitingBefore, job.chunks),
          attempts: CHUNK_ATTEMPTS,
          backoff: { type: 'exponential', delay: CHUNK_BACKOFF_MS },
          removeOnComplete: true,
          removeOnFail: true,
        },
      })),
    );
  }

  /** Takes a job's chunks off the queue (a failed submission's, or a cancelled job's waiting ones). */
  private async removeChunks(id: string, chunks: number): Promise<void> {
    await Promise.all(
      Array.from({ length: chunks }, (_, chunk) => this.queue.remove(chunkJobId(id, chunk)).catch(() => undefined)),
    );
  }

  /**
   * The job an Idempotency-Key names and its body's digest, once the submission that claimed the
   * key has queued the job's chunks. A 503 (retry) when that submission failed, or takes longer
   * than {@link CONCURRENT_SUBMISSION_WAIT_MS} to finish: the retry then finds its job, or the key
   * free.
   */
  private async settledBinding(owner: string, idempotencyKey: string): Promise<{ job: JobRecord; bodyHash: string }> {
    const deadline = Date.now() + CONCURRENT_SUBMISSION_WAIT_MS;
    for (;;) {
      const bound = await this.guarded(this.store.binding(owner, idempotencyKey));
      if (!bound) throw concurrentSubmissionFailed();
      if (bound.bodyHash !== undefined) {
        const job = await this.guarded(this.store.get(bound.id));
        if (!job || job.owner !== owner) throw concurrentSubmissionFailed();
        if (job.chunksQueued) return { job, bodyHash: bound.bodyHash };
      }
      if (Date.now() > deadline) throw concurrentSubmissionFailed();
      await delay(CONCURRENT_SUBMISSION_POLL_MS);
    }
  }

  /** The caller's job; another key's job is as absent as one that never existed (404). */
  async get(caller: JobCaller, id: string): Promise<JobRecord> {
    const job = await this.guarded(this.store.get(id));
    if (!job || job.owner !== caller.owner) throw jobNotFound();
    return job;
  }

  /** The result lines of the chunks finished in a row from the first. */
  async results(caller: JobCaller, id: string): Promise<AsyncGenerator<string>> {
    const job = await this.get(caller, id);
    return this.store.finishedPrefix(job);
  }

  /** Cancels a queued or running job: its waiting chunks leave the queue, its stored results go. */
  async cancel(caller: JobCaller, id: string): Promise<JobRecord> {
    const job = await this.get(caller, id);
    if (await this.guarded(this.store.end(job, 'cancelled', Date.now()))) {
      // A chunk already running finishes, and its results are refused (the job has ended).
      await this.removeChunks(id, job.chunks);
      await this.store.dropStaged(id, job.chunks);
      this.transitions.cancelled++;
      this.logger.log({ msg: 'job cancelled', job: id });
    }
    return this.get(caller, id);
  }

  /** Refuses the call while the store's Redis is refused (it would evict jobs). */
  private usable(): void {
    if (this.store.refusal)
      throw new UnavailableError(this.store.refusal, STORE_REFUSED_RETRY_SECONDS, 'jobs-unavailable');
  }

  /** Redis trouble is a 503: unlike the cache, job state cannot be skipped. */
  private async guarded<T>(operation: Promise<T>): Promise<T> {
    this.usable();
    try {
      return await operation;
    } catch (error) {
      if (error instanceof ProblemError) throw error;
      this.logger.warn({ msg: 'job store unreachable', error: (error as Error).message });
      throw new UnavailableError(JOBS_UNAVAILABLE_DETAIL, STORE_UNREACHABLE_RETRY_SECONDS, 'jobs-unavailable');
    }
  }
}

export function jobNotFound(): ProblemError {
  return new ProblemError(JOB_PROBLEM.notFound, JOB_NOT_FOUND_DETAIL);
}

/** Another submission with the same Idempotency-Key failed or is still running: a retry sorts it out. */
function concurrentSubmissionFailed(): UnavailableError {
  return new UnavailableError(
    'Another submission with this Idempotency-Key has not finished (or failed); retry after `Retry-After` seconds. ' +
      'Nothing was created.',
    RETRY_AT_ONCE_SECONDS,
    'jobs-unavailable',
  );
}

/** The same Idempotency-Key with another body: a different submission, never the first one's job. */
function idempotencyKeyReused(): ProblemError {
  return new ProblemError(
    JOB_PROBLEM.idempotencyKeyReused,
    'This Idempotency-Key was sent before with a different body; use a new key for a new submission. Nothing was created.',
  );
}

/** A chunk of job lines as the store keeps it, and the bytes it reserves. */
function storedChunk(group: JobLine[]): { json: string; bytes: number } {
  const texts: StoredText[] = group.map(({ text, id, line }) => [text, id ?? null, line]);
  const json = JSON.stringify(texts);
  return { json, bytes: chunkBytes(texts, json) };
}

/**
 * A job refused because its account's other jobs hold the room (`reserved` bytes of it read so far)
 * may not fit in the quota even alone: the rest of its body is read (one chunk in memory, nothing
 * stored) until its bytes pass the quota or the body ends. So the caller hears 413 (split it), not
 * 409 (retry later), for a job that could never fit, whatever else its account holds.
 */
async function wholeJobRefusal(
  refusal: Refusal,
  rest: AsyncIterable<JobLine[]>,
  reserved: number,
  quota: number,
): Promise<Refusal> {
  if (refusal.reason !== 'account-over-quota') return refusal;
  for await (const group of rest) {
    reserved += storedChunk(group).bytes;
    if (reserved > quota) return { reason: 'job-over-quota' };
  }
  return refusal;
}

function quotaRefusal(refusal: Refusal, quota: number): Error {
  switch (refusal.reason) {
    case 'job-over-quota':
      return new ProblemError(
        JOB_PROBLEM.jobOverQuota,
        `This job alone would hold more than JOB_STORED_BYTES_PER_KEY (${quota} bytes of texts and results) ` +
          'in the job store; split it into smaller jobs. Nothing was created.',
      );
    case 'account-over-quota': {
      const seconds = Math.max(1, Math.ceil((refusal.retryAt - Date.now()) / 1000));
      return new ProblemError(JOB_PROBLEM.accountOverQuota, accountOverQuotaDetail(quota), {
        headers: { 'Retry-After': String(seconds) },
      });
    }
    case 'store-full':
      return new UnavailableError(
        'The job store is full (its Redis maxmemory); retry after `Retry-After` seconds. Nothing was created.',
        STORE_FULL_RETRY_SECONDS,
        'jobs-store-full',
      );
  }
}

/** Room in a full store comes back as jobs expire or are fetched and cancelled: minutes, not seconds. */
const STORE_FULL_RETRY_SECONDS = 60;
