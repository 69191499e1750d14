import { Inject, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import type { Span } from '@opentelemetry/api';
import { UnrecoverableError, type Job } from 'bullmq';
import { SETTINGS } from '../config/config.module.js';
import type { Settings } from '../config/settings.js';
import { TooManyWindowsError } from '../common/too-many-windows-error.js';
import { UnavailableError } from '../common/unavailable-error.js';
import { ProblemError } from '../http/problem.js';
import { ShutdownState } from '../health/shutdown-state.js';
import { RedisClients } from '../redis/redis-clients.js';
import { SentimentService } from '../sentiment/sentiment.service.js';
import { inSpan, SPAN, spanContextOf } from '../telemetry/spans.js';
import { JOB_CHUNK_QUEUE, JOB_STORE, type ChunkData } from './job-queue.js';
import type { JobStore, StoredText } from './job-store.js';

/**
 * A replica that dies mid-chunk stops renewing the chunk's lock; after `LOCK_MS` another replica's
 * stalled check (every `STALLED_CHECK_MS`) puts the chunk back in the queue. Short, so a lost chunk
 * is retried within seconds; long enough for one chunk's model time.
 */
const LOCK_MS = 15_000;
const STALLED_CHECK_MS = 5_000;
/** A chunk stalls this many times (its replica died each time) before its job fails. */
const MAX_STALLS = 3;

/**
 * A failed job's `error`, which its owner reads: our own refusals (overload, model not ready) say
 * what happened; anything else (a Redis or runtime error, whose text may name internal addresses
 * or paths) is summarised, and the service log keeps the cause under the job's id.
 */
export function jobErrorSummary(chunk: number, attempts: number, error: Error): string {
  if (error instanceof RefusedTextsError) return `chunk ${chunk} failed: ${error.message}`;
  const reason =
    error instanceof UnavailableError || error instanceof ProblemError
      ? error.message
      : 'an internal error (the service log has its cause under this job id)';
  return `chunk ${chunk} failed ${attempts} times: ${reason}`;
}

/**
 * Texts of a chunk its job's options refuse (with `long_text=chunk`, a text needing more than
 * LONG_TEXT_MAX_WINDOWS windows): every try would refuse them again, so the job fails at once
 * (BullMQ does not retry an UnrecoverableError). Names lines and counts, never a text.
 */
export class RefusedTextsError extends UnrecoverableError {
  constructor(error: TooManyWindowsError, texts: readonly StoredText[]) {
    const shown = error.texts.slice(0, MAX_REFUSED_LINES_NAMED);
    const lines = shown.map(({ index, windows }) => `line ${texts[index][2]} needs ${windows} windows`).join(', ');
    const more = error.texts.length > shown.length ? ` (and ${error.texts.length - shown.length} more)` : '';
    super(`${lines}${more} with long_text "chunk", more than LONG_TEXT_MAX_WINDOWS (${error.limit})`);
  }
}

/** A failed job's error names at most this many refused lines. */
const MAX_REFUSED_LINES_NAMED = 5;

/**
 * What became of a chunk: its results recorded; or none, because its job had ended, a run before
 * had recorded them, or (found at the end) either happened while it ran.
 */
type ChunkOutcome = 'recorded' | 'job-ended' | 'recorded-before' | 'not-recorded';

/** Work done by this replica's workers, for metrics. */
export class BulkWork {
  texts = 0;
  chunks = 0;
  failedJobs = 0;
  completedJobs = 0;
}

/**
 * Every replica's worker on the chunk queue: answers a chunk's texts through the prediction cache
 * and the scheduler at bulk priority, and records its result lines once (a retried chunk whose
 * results are stored already records nothing).
 */
@Processor(JOB_CHUNK_QUEUE, { lockDuration: LOCK_MS, stalledInterval: STALLED_CHECK_MS, maxStalledCount: MAX_STALLS })
export class JobChunkProcessor extends WorkerHost implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('JobWorker');

  constructor(
    private readonly sentiment: SentimentService,
    @Inject(JOB_STORE) private readonly store: JobStore,
    @Inject(SETTINGS) private readonly settings: Settings,
    private readonly work: BulkWork,
    private readonly shutdown: ShutdownState,
    private readonly clients: RedisClients,
  ) {
    super();
  }

  onApplicationBootstrap(): void {
    // The decorator's options are fixed at compile time; the setting is read at start.
    this.worker.concurrency = this.settings.jobs.workerConcurrency;
    // A stopping replica takes no new chunk; the other replicas do.
    this.shutdown.onBegin(() => void this.worker.pause(true).catch(() => undefined));
  }

  /**
   * Running chunks were held by the shutdown like requests in flight; what is still running now is
   * cut short and loses nothing (its lock lapses and a replica takes it again). The worker closes
   * without waiting for it, and BullMQ's connections are dropped if Redis does not let it close.
   */
  async beforeApplicationShutdown(): Promise<void> {
    await this.clients.close(['jobs-worker', 'jobs-queue'], () => this.worker.close(true));
  }

  async process(chunkJob: Job<ChunkData>): Promise<void> {
    const { jobId, chunk, traceparent } = chunkJob.data;
    // Linked to its submission, not its child: the submission's request ended long ago, maybe elsewhere.
    const submission = spanContextOf(traceparent);
    const options = {
      links: submission ? [{ context: submission }] : [],
      attributes: {
        'sentiment.job.id': jobId,
        'sentiment.job.chunk': chunk,
        'sentiment.job.attempt': chunkJob.attemptsMade + 1,
      },
    };
    await this.shutdown.hold(
      inSpan(SPAN.jobChunk, options, async (span) => {
        const outcome = await this.processChunk(chunkJob.data, span);
        span.setAttribute('sentiment.job.chunk.outcome', outcome);
      }),
    );
  }

  private async processChunk({ jobId, chunk }: ChunkData, span: Span): Promise<ChunkOutcome> {
    const job = await this.store.get(jobId);
    if (!job || (job.state !== 'queued' && job.state !== 'running')) return 'job-ended';
    const texts = await this.store.chunkTexts(jobId, chunk);
    // Staged texts go once their results are stored: this chunk ran before and was recorded.
    if (!texts) return 'recorded-before';
    span.setAttribute('sentiment.job.chunk.texts', texts.length);
    await this.store.markStarted(jobId, Date.now());
    const { predictions, cacheHits } = await this.sentiment
      .predictBulk(
        texts.map(([text]) => text),
        // The job's owner as a caller: its cache scope, and its account as the flow, so jobs are fair between accounts.
        { cacheScope: job.cacheTenant || undefined, flow: job.account },
        job.longText,
      )
      .catch((error: unknown) => {
        throw error instanceof TooManyWindowsError ? new RefusedTextsError(error, texts) : error;
      });
    const lines = texts
      .map(
        ([, id, line], i) =>
          JSON.stringify(
            id === null ? { line, predictions: predictions[i] } : { line, id, predictions: predictions[i] },
          ) + '\n',
      )
      .join('');
    if (!(await this.store.recordChunk(job, chunk, lines, texts.length, cacheHits, Date.now()))) return 'not-recorded';
    this.work.texts += texts.length;
    this.work.chunks++;
    if ((await this.store.get(jobId))?.state === 'completed') {
      this.work.completedJobs++;
      this.logger.log({ msg: 'job completed', job: jobId });
    }
    return 'recorded';
  }

  /** A chunk out of tries (or refused outright) fails its job, with the reason as its error summary. */
  @OnWorkerEvent('failed')
  async onFailed(chunkJob: Job<ChunkData> | undefined, error: Error): Promise<void> {
    if (!chunkJob) return;
    if (chunkJob.attemptsMade < (chunkJob.opts.attempts ?? 1) && !(error instanceof RefusedTextsError)) return;
    const job = await this.store.get(chunkJob.data.jobId).catch(() => undefined);
    if (!job) return;
    const summary = jobErrorSummary(chunkJob.data.chunk, chunkJob.attemptsMade, error);
    if (await this.store.end(job, 'failed', Date.now(), summary).catch(() => false)) {
      this.work.failedJobs++;
      this.logger.warn({ msg: 'job failed', job: job.id, error: summary, cause: error.message });
    }
  }

  /**
   * Without a listener a worker error would crash the process. BullMQ passes its connections'
   * errors on here, and what fails during an outage fails because of it: the Redis module says so
   * once per outage (roles `jobs-queue`, `jobs-worker`). Anything else is the worker's own.
   */
  @OnWorkerEvent('error')
  onError(error: Error): void {
    if (this.clients.inOutage('jobs-queue', 'jobs-worker')) return;
    this.logger.warn({ msg: 'job worker error', error: error.message });
  }
}
