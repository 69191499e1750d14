import { BullModule } from '@nestjs/bullmq';
import { Logger, Module, type DynamicModule } from '@nestjs/common';
import type { Cluster, Redis } from 'ioredis';
import { RedisClients } from '../redis/redis-clients.js';
import { RedisModule } from '../redis/redis.module.js';
import { HealthModule } from '../health/health.module.js';
import { MetricsRegistryModule } from '../metrics/metrics-registry.js';
import { SETTINGS } from '../config/config.module.js';
import type { Settings } from '../config/settings.js';
import { SentimentModule } from '../sentiment/sentiment.module.js';
import { bullmqTelemetry } from '../telemetry/tracing.js';
import { BulkWork, JobChunkProcessor } from './job-chunk.processor.js';
import { JOB_METRIC_PROVIDERS, JobQueueStats } from './job-metrics.js';
import { JOB_CHUNK_QUEUE, JOB_QUEUE_PREFIX, JOB_STORE, JOBS } from './job-queue.js';
import { JobStore } from './job-store.js';
import { JobsController } from './jobs.controller.js';
import { JobsService } from './jobs.service.js';

/**
 * Bulk scoring jobs on BullMQ. With `JOBS_REDIS_URL` (or `REDIS_URL`), the queue, this replica's
 * chunk worker and the job store; BullMQ gets a connection of its own (a worker blocks on its
 * connection while it waits for chunks, which the cache's client, with its 50 ms breaker timeout,
 * must never do), and the job store has one that fails fast. Both are asked of
 * {@link RedisClients} by role (`jobs-queue`, `jobs-store`), which applies the Redis policy and
 * drops them at shutdown whatever Redis does. Without Redis the routes exist and answer 501.
 */
@Module({})
export class JobsModule {
  static forRoot(settings: Settings): DynamicModule {
    if (!settings.jobs.redisUrl) {
      return { module: JobsModule, controllers: [JobsController], providers: [{ provide: JOBS, useValue: null }] };
    }
    return {
      module: JobsModule,
      imports: [
        SentimentModule,
        HealthModule,
        MetricsRegistryModule,
        RedisModule,
        BullModule.forRootAsync({
          imports: [RedisModule],
          inject: [RedisClients],
          useFactory: (clients: RedisClients) => ({
            connection: clients.jobsQueue(),
            prefix: JOB_QUEUE_PREFIX,
            // Producer and consumer spans (bullmq-otel), the job's trace carried in its data; none when tracing is off.
            telemetry: bullmqTelemetry(),
          }),
        }),
        BullModule.registerQueue({ name: JOB_CHUNK_QUEUE }),
      ],
      controllers: [JobsController],
      providers: [
        {
          provide: JOB_STORE,
          inject: [SETTINGS, RedisClients],
          useFactory: (current: Settings, clients: RedisClients) => jobStore(clients.jobsStore(), current),
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

/** The store, reading the Redis's eviction policy and memory on every (re)connect: Redis may have been replaced. */
function jobStore(client: Redis | Cluster, settings: Settings): JobStore {
  const logger = new Logger('Jobs');
  const store = new JobStore(client, settings.jobs.resultTtlSeconds);
  const required = settings.nodeEnv === 'production';
  client.on('ready', () => {
    store.checkMemory(required).then(
      (policy) => {
        if (store.refusal) logger.error({ msg: `${store.refusal} Job routes answer 503 until it is changed.` });
        else if (policy !== 'noeviction') {
          logger.warn({
            msg: `the jobs Redis has maxmemory-policy ${policy}: it may evict jobs (production refuses it)`,
          });
        }
      },
      (error: Error) => logger.warn({ msg: 'could not read the jobs Redis eviction policy', error: error.message }),
    );
  });
  return store;
}
