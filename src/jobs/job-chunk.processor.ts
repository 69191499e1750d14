import { setTimeout } from 'node:timers/promises';
import { Inject, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import type { Job } from 'bullmq';
import { SETTINGS } from '../config/config.module.js';
import type { Settings } from '../config/settings.js';
import { SentimentService } from '../sentiment/sentiment.service.js';
import { JOB_CHUNK_QUEUE, JOB_STORE, type ChunkData } from './job-queue.js';
import type { JobStore } from './job-store.js';

/** How long running chunks may take to finish at shutdown (a chunk is a few seconds of bulk work). */
const CHUNK_FINISH_WAIT_MS = 10_000;

/**
 * A replica that dies mid-chunk stops renewing the chunk's lock; after `LOCK_MS` another replica's
 * stalled check (every `STALLED_CHECK_MS`) puts the chunk back in the queue. Short, so a lost chunk
 * is retried within seconds; long enough for one chunk's model time.
 */
const LOCK_MS = 15_000;
const STALLED_CHECK_MS = 5_000;
/** A chunk stalls this many times (its replica died each time) before its job fails. */
const MAX_STALLS = 3;

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
  private outageReported = false;

  constructor(
    private readonly sentiment: SentimentService,
    @Inject(JOB_STORE) private readonly store: JobStore,
    @Inject(SETTINGS) private readonly settings: Settings,
    private readonly work: BulkWork,
  ) {
    super();
  }

  /** Chunks this replica is working on now. */
  private running = 0;

  onApplicationBootstrap(): void {
    // The decorator's options are fixed at compile time; the setting is read at start.
    this.worker.concurrency = this.settings.jobs.workerConcurrency;
  }

  /**
   * Running chunks may finish (for a bounded time), then the worker closes without QUIT: a Redis
   * that is gone, or still reconnecting after a restart, would never answer it and shutdown would
   * hang. A chunk cut short loses nothing: its lock lapses and a replica takes it again.
   */
  async beforeApplicationShutdown(): Promise<void> {
    // Not BullMQ's own waiting: it reconnects the blocking connection afterwards, which never
    // returns while Redis is down.
    await this.worker.pause(true).catch(() => undefined);
    const deadline = performance.now() + CHUNK_FINISH_WAIT_MS;
    while (this.running > 0 && performance.now() < deadline) await setTimeout(50);
    await this.worker.close(true).catch(() => undefined);
  }

  async process(chunkJob: Job<ChunkData>): Promise<void> {
    this.running++;
    try {
      await this.processChunk(chunkJob.data);
    } finally {
      this.running--;
    }
  }

  private async processChunk({ jobId, chunk }: ChunkData): Promise<void> {
    const job = await this.store.get(jobId);
    if (!job || (job.state !== 'queued' && job.state !== 'running')) return;
    const texts = await this.store.chunkTexts(jobId, chunk);
    // Staged texts go once their results are stored: this chunk ran before and was recorded.
    if (!texts) return;
    await this.store.markStarted(jobId, Date.now());
    const { predictions, cacheHits } = await this.sentiment.predictBulk(
      texts.map(([text]) => text),
      { cacheTenant: job.cacheTenant || undefined, flow: job.owner },
    );
    const lines = texts
      .map(
        ([, id, line], i) =>
          JSON.stringify(
            id === null ? { line, predictions: predictions[i] } : { line, id, predictions: predictions[i] },
          ) + '\n',
      )
      .join('');
    if (await this.store.recordChunk(job, chunk, lines, texts.length, cacheHits, Date.now())) {
      this.work.texts += texts.length;
      this.work.chunks++;
      if ((await this.store.get(jobId))?.state === 'completed') {
        this.work.completedJobs++;
        this.logger.log({ msg: 'job completed', job: jobId });
      }
    }
  }

  /** A chunk out of tries fails its job, with the reason as its error summary. */
  @OnWorkerEvent('failed')
  async onFailed(chunkJob: Job<ChunkData> | undefined, error: Error): Promise<void> {
    if (!chunkJob || chunkJob.attemptsMade < (chunkJob.opts.attempts ?? 1)) return;
    const job = await this.store.get(chunkJob.data.jobId).catch(() => undefined);
    if (!job) return;
    const summary = `chunk ${chunkJob.data.chunk} failed ${chunkJob.attemptsMade} times: ${error.message}`;
    if (await this.store.end(job, 'failed', Date.now(), summary).catch(() => false)) {
      this.work.failedJobs++;
      this.logger.warn({ msg: 'job failed', job: job.id, error: summary });
    }
  }

  /** Without a listener a lost Redis connection would crash the process; one warning per outage. */
  @OnWorkerEvent('error')
  onError(error: Error): void {
    if (this.outageReported) return;
    this.outageReported = true;
    this.logger.warn({ msg: 'job queue unreachable; chunks wait until Redis is back', error: error.message });
  }

  @OnWorkerEvent('ready')
  onReady(): void {
    this.outageReported = false;
  }
}
