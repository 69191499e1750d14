import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { InjectQueue } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { SETTINGS } from '../config/config.module.js';
import type { Settings } from '../config/settings.js';
import { UnavailableError } from '../common/unavailable-error.js';
import { JOBS_UNAVAILABLE_DETAIL } from '../http/problem-details.js';
import { ProblemError } from '../http/problem.js';
import { RedisClients } from '../redis/redis-clients.js';
import { readJobLines } from './job-lines.js';
import {
  CHUNK_ATTEMPTS,
  CHUNK_BACKOFF_MS,
  chunkJobId,
  JOB_CHUNK_QUEUE,
  JOB_STORE,
  type ChunkData,
} from './job-queue.js';
import type { JobRecord, JobStore, StoredText } from './job-store.js';

/** Who submits or reads a job: the key's identity (the job's owner) and its cache scope. */
export interface JobCaller {
  owner: string;
  cacheTenant?: string;
}

export interface Submitted {
  job: JobRecord;
  /** False when an Idempotency-Key named a job submitted before. */
  created: boolean;
}

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

  async submit(caller: JobCaller, body: Readable, idempotencyKey?: string): Promise<Submitted> {
    this.usable();
    if (idempotencyKey !== undefined) {
      const existing = await this.existing(caller, idempotencyKey);
      if (existing) {
        body.resume(); // the body is not needed: the key names the job
        return { job: existing, created: false };
      }
    }
    const { maxTexts, maxBytes, chunkTexts, storedTextsPerKey } = this.settings.jobs;
    const id = randomUUID();
    let chunks = 0;
    let total = 0;
    try {
      // Staged chunk by chunk as the body arrives: memory holds one chunk, and a bad line further
      // down removes what was staged, so nothing is half-created.
      const lines = readJobLines(body, { maxTexts, maxBytes, maxTextChars: this.settings.maxTextChars }, chunkTexts);
      for await (const group of lines) {
        const texts: StoredText[] = group.map(({ text, id: textId, line }) => [text, textId ?? null, line]);
        await this.guarded(this.store.stageChunk(id, chunks++, texts));
        total += group.length;
      }
      if (idempotencyKey !== undefined) {
        const bound = await this.guarded(this.store.bindIdempotencyKey(caller.owner, idempotencyKey, id));
        if (bound !== id) {
          await this.store.dropStaged(id, chunks);
          const winner = await this.existing(caller, idempotencyKey);
          if (winner) return { job: winner, created: false };
        }
      }
      const now = Date.now();
      const retryAt = await this.guarded(this.store.reserveQuota(caller.owner, id, total, storedTextsPerKey, now));
      if (retryAt !== undefined) {
        if (idempotencyKey !== undefined) await this.store.releaseIdempotencyKey(caller.owner, idempotencyKey);
        throw quotaExceeded(storedTextsPerKey, Math.max(1, Math.ceil((retryAt - now) / 1000)));
      }
      const job: JobRecord = {
        id,
        owner: caller.owner,
        cacheTenant: caller.cacheTenant ?? '',
        state: 'queued',
        total,
        chunks,
        done: 0,
        cacheHits: 0,
        createdAt: now,
      };
      await this.guarded(this.store.create(job));
      await this.guarded(
        this.queue.addBulk(
          Array.from({ length: chunks }, (_, chunk) => ({
            name: 'chunk',
            data: { jobId: id, chunk },
            opts: {
              jobId: chunkJobId(id, chunk),
              attempts: CHUNK_ATTEMPTS,
              backoff: { type: 'exponential', delay: CHUNK_BACKOFF_MS },
              removeOnComplete: true,
              removeOnFail: true,
            },
          })),
        ),
      );
      this.transitions.submitted++;
      this.logger.log({ msg: 'job submitted', job: id, texts: total, chunks });
      return { job, created: true };
    } catch (error) {
      await this.store.dropStaged(id, chunks).catch(() => undefined);
      throw error;
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
      await Promise.all(
        Array.from({ length: job.chunks }, (_, chunk) =>
          this.queue.remove(chunkJobId(id, chunk)).catch(() => undefined),
        ),
      );
      await this.store.dropStaged(id, job.chunks);
      this.transitions.cancelled++;
      this.logger.log({ msg: 'job cancelled', job: id });
    }
    return this.get(caller, id);
  }

  private async existing(caller: JobCaller, idempotencyKey: string): Promise<JobRecord | undefined> {
    const id = await this.guarded(this.store.idempotentJob(caller.owner, idempotencyKey));
    if (id === undefined) return undefined;
    const job = await this.guarded(this.store.get(id));
    return job && job.owner === caller.owner ? job : undefined;
  }

  /** Redis trouble is a 503: unlike the cache, job state cannot be skipped. */
  /** Refuses the call while the store's Redis is refused (it would evict jobs). */
  private usable(): void {
    if (this.store.refusal) throw new UnavailableError(this.store.refusal, 60, 'jobs-unavailable');
  }

  private async guarded<T>(operation: Promise<T>): Promise<T> {
    this.usable();
    try {
      return await operation;
    } catch (error) {
      if (error instanceof ProblemError) throw error;
      this.logger.warn({ msg: 'job store unreachable', error: (error as Error).message });
      throw new UnavailableError(JOBS_UNAVAILABLE_DETAIL, 5, 'jobs-unavailable');
    }
  }
}

export function jobNotFound(): ProblemError {
  return new ProblemError(404, 'job-not-found', 'Not Found', 'No job with this id belongs to this API key.');
}

function quotaExceeded(quota: number, retryAfterSeconds: number): ProblemError {
  return new ProblemError(
    409,
    'job-quota-exceeded',
    'Conflict',
    `This API key's unexpired jobs would hold more than JOB_STORED_TEXTS_PER_KEY (${quota}) texts; ` +
      'cancel a job or retry after `Retry-After` seconds.',
    undefined,
    { 'Retry-After': String(retryAfterSeconds) },
  );
}
