import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { Queue } from 'bullmq';
import type { Counter, Gauge } from 'prom-client';
import { METRIC } from '../metrics/metric-names.js';
import { counterProvider, gaugeProvider } from '../metrics/metrics-registry.js';
import { BulkWork } from './job-chunk.processor.js';
import { JOB_CHUNK_QUEUE } from './job-queue.js';
import { JobsService } from './jobs.service.js';

const CHUNK_STATES = ['waiting', 'active', 'delayed'] as const;
type ChunkState = (typeof CHUNK_STATES)[number];
/** How often the queue-wide figures are read from Redis. */
const READ_EVERY_MS = 2000;

/**
 * The shared queue's figures, read in the background: a scrape reads the last values and never
 * waits on Redis (BullMQ's connection waits out an outage, and a frozen Redis never answers).
 */
@Injectable()
export class JobQueueStats implements OnModuleInit, OnApplicationShutdown {
  chunks: Record<ChunkState, number> = { waiting: 0, active: 0, delayed: 0 };
  oldestWaitingSeconds = 0;
  private timer?: NodeJS.Timeout;
  private reading = false;

  constructor(@InjectQueue(JOB_CHUNK_QUEUE) private readonly queue: Queue) {}

  onModuleInit(): void {
    this.timer = setInterval(() => void this.read(), READ_EVERY_MS).unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  private async read(): Promise<void> {
    if (this.reading) return; // the last read still waits on Redis
    this.reading = true;
    try {
      const counts = await this.queue.getJobCounts(...CHUNK_STATES);
      this.chunks = { waiting: counts.waiting ?? 0, active: counts.active ?? 0, delayed: counts.delayed ?? 0 };
      const [oldest] = await this.queue.getJobs(['waiting'], 0, 0, true);
      this.oldestWaitingSeconds = oldest ? Math.max(0, (Date.now() - oldest.timestamp) / 1000) : 0;
    } catch {
      // Redis unreachable: the last values stand; the job store reports the outage.
    } finally {
      this.reading = false;
    }
  }
}

/** Job metrics, registered on the app's registry only when jobs run (with Redis). */
export const JOB_METRIC_PROVIDERS = [
  counterProvider({
    name: METRIC.jobs,
    help: 'Jobs that reached a state, counted by the replica that moved them: submitted, completed, failed, cancelled.',
    labelNames: ['state'],
    inject: [JobsService, BulkWork],
    collect(this: Counter, jobs: JobsService, work: BulkWork) {
      this.reset();
      this.inc({ state: 'submitted' }, jobs.transitions.submitted);
      this.inc({ state: 'cancelled' }, jobs.transitions.cancelled);
      this.inc({ state: 'completed' }, work.completedJobs);
      this.inc({ state: 'failed' }, work.failedJobs);
    },
  }),
  counterProvider({
    name: METRIC.jobTexts,
    help: "Job texts answered by this replica's bulk workers (rate() of it is bulk throughput).",
    inject: [BulkWork],
    collect(this: Counter, work: BulkWork) {
      this.reset();
      this.inc(work.texts);
    },
  }),
  gaugeProvider({
    name: METRIC.jobChunks,
    help: 'Job chunks in the shared queue (every replica sees the same), by state: waiting, active, delayed (retry backoff).',
    labelNames: ['state'],
    inject: [JobQueueStats],
    collect(this: Gauge, stats: JobQueueStats) {
      for (const state of CHUNK_STATES) this.set({ state }, stats.chunks[state]);
    },
  }),
  gaugeProvider({
    name: METRIC.jobQueueAge,
    help: 'Seconds the oldest waiting job chunk has waited (0 when none waits).',
    inject: [JobQueueStats],
    collect(this: Gauge, stats: JobQueueStats) {
      this.set(stats.oldestWaitingSeconds);
    },
  }),
];
