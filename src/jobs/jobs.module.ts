import { BullModule } from '@nestjs/bullmq';
import { Logger, Module, type DynamicModule } from '@nestjs/common';
import { Redis } from 'ioredis';
import { reconnectDelayMs } from '../redis/redis-client.js';
import { SETTINGS } from '../config/config.module.js';
import type { Settings } from '../config/settings.js';
import { SentimentModule } from '../sentiment/sentiment.module.js';
import { BulkWork, JobChunkProcessor } from './job-chunk.processor.js';
import { JOB_METRIC_PROVIDERS, JobQueueStats } from './job-metrics.js';
import { JOB_CHUNK_QUEUE, JOB_STORE, JOBS } from './job-queue.js';
import { JobStore } from './job-store.js';
import { JobsController } from './jobs.controller.js';
import { JobsService } from './jobs.service.js';

/**
 * Bulk scoring jobs on BullMQ. With `REDIS_URL`, the queue, this replica's chunk worker and the
 * job store; BullMQ opens its own ioredis connections from the same URL (a worker blocks on its
 * connection while it waits for chunks, which the shared node-redis client, with its 50 ms
 * breaker timeout, must never do), and the job store has one of its own that fails fast. Without
 * Redis the routes exist and answer 501.
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
        // Reconnects as soon as the other clients do: BullMQ's own backoff grows to 20 s, and its
        // closing QUIT waits for the reconnect, so a restarted Redis could stall a shutdown that long.
        BullModule.forRoot({ connection: { url: settings.redisUrl, retryStrategy: reconnectDelayMs } }),
        BullModule.registerQueue({ name: JOB_CHUNK_QUEUE }),
      ],
      controllers: [JobsController],
      providers: [
        {
          provide: JOB_STORE,
          inject: [SETTINGS],
          useFactory: (current: Settings) =>
            new JobStore(jobStoreClient(current.redisUrl!), current.jobs.resultTtlSeconds),
        },
        JobsService,
        { provide: JOBS, useExisting: JobsService },
        BulkWork,
        JobChunkProcessor,
        JobQueueStats,
        ...JOB_METRIC_PROVIDERS,
      ],
    };
  }
}

/** The job store's connection: no offline queue, one try per command, reconnecting in the background. */
function jobStoreClient(url: string): Redis {
  const logger = new Logger('Jobs');
  const client = new Redis(url, {
    connectionName: 'sentiment-api:jobs',
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    retryStrategy: reconnectDelayMs,
  });
  let outageReported = false;
  // Without a listener ioredis reports every failed reconnect; one warning per outage (never the URL).
  client.on('error', (error: Error) => {
    if (outageReported) return;
    outageReported = true;
    logger.warn({ msg: 'job store (redis) unreachable; job routes answer 503 until it is back', error: error.message });
  });
  client.on('ready', () => (outageReported = false));
  return client;
}
