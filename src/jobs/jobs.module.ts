import { BullModule, getQueueToken } from '@nestjs/bullmq';
import { Module, type DynamicModule } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { SETTINGS } from '../config/config.module.js';
import type { Settings } from '../config/settings.js';
import { SentimentModule } from '../sentiment/sentiment.module.js';
import { BulkWork, JobChunkProcessor } from './job-chunk.processor.js';
import { JOB_METRIC_PROVIDERS } from './job-metrics.js';
import { JOB_CHUNK_QUEUE, JOB_STORE, JOBS } from './job-queue.js';
import { JobStore } from './job-store.js';
import { JobsController } from './jobs.controller.js';
import { JobsService } from './jobs.service.js';

/**
 * Bulk scoring jobs on BullMQ. With `REDIS_URL`, the queue, this replica's chunk worker and the
 * job store; BullMQ opens its own ioredis connections from the same URL (a worker blocks on its
 * connection while it waits for chunks, which the shared node-redis client, with its 50 ms
 * breaker timeout, must never do). Without Redis the routes exist and answer 501.
 */
@Module({})
export class JobsModule {
  static forRoot(settings: Settings): DynamicModule {
    if (!settings.redisUrl) {
      return { module: JobsModule, controllers: [JobsController], providers: [{ provide: JOBS, useValue: null }] };
    }
    return {
      module: JobsModule,
      imports: [
        SentimentModule,
        BullModule.forRoot({ connection: { url: settings.redisUrl } }),
        BullModule.registerQueue({ name: JOB_CHUNK_QUEUE }),
      ],
      controllers: [JobsController],
      providers: [
        {
          provide: JOB_STORE,
          inject: [getQueueToken(JOB_CHUNK_QUEUE), SETTINGS],
          useFactory: (queue: Queue, current: Settings) =>
            new JobStore(() => queue.client, current.jobs.resultTtlSeconds),
        },
        JobsService,
        { provide: JOBS, useExisting: JobsService },
        BulkWork,
        JobChunkProcessor,
        ...JOB_METRIC_PROVIDERS,
      ],
    };
  }
}
