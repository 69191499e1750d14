import { getQueueToken } from '@nestjs/bullmq';
import { makeCounterProvider, makeGaugeProvider } from '@willsoto/nestjs-prometheus';
import type { Queue } from 'bullmq';
import type { Counter, Gauge } from 'prom-client';
import { METRIC } from '../metrics/metric-names.js';
import { BulkWork } from './job-chunk.processor.js';
import { JOB_CHUNK_QUEUE } from './job-queue.js';
import { JobsService } from './jobs.service.js';

const CHUNK_STATES = ['waiting', 'active', 'delayed'] as const;

/** Job metrics, registered only when jobs run (with Redis). Queue-wide values are read at scrape. */
export const JOB_METRIC_PROVIDERS = [
  makeCounterProvider({
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
  makeCounterProvider({
    name: METRIC.jobTexts,
    help: "Job texts answered by this replica's bulk workers (rate() of it is bulk throughput).",
    inject: [BulkWork],
    collect(this: Counter, work: BulkWork) {
      this.reset();
      this.inc(work.texts);
    },
  }),
  makeGaugeProvider({
    name: METRIC.jobChunks,
    help: 'Job chunks in the shared queue (every replica sees the same), by state: waiting, active, delayed (retry backoff).',
    labelNames: ['state'],
    inject: [getQueueToken(JOB_CHUNK_QUEUE)],
    async collect(this: Gauge, queue: Queue) {
      const counts = await queue.getJobCounts(...CHUNK_STATES).catch(() => undefined);
      if (!counts) return;
      for (const state of CHUNK_STATES) this.set({ state }, counts[state] ?? 0);
    },
  }),
  makeGaugeProvider({
    name: METRIC.jobQueueAge,
    help: 'Seconds the oldest waiting job chunk has waited (0 when none waits).',
    inject: [getQueueToken(JOB_CHUNK_QUEUE)],
    async collect(this: Gauge, queue: Queue) {
      const [oldest] = await queue.getJobs(['waiting'], 0, 0, true).catch(() => []);
      this.set(oldest ? Math.max(0, (Date.now() - oldest.timestamp) / 1000) : 0);
    },
  }),
];
