import { BullModule } from '@nestjs/bullmq';
import { Logger, Module, type DynamicModule } from '@nestjs/common';
import type { Cluster, Redis } from 'ioredis';
import { reconnectDelayMs } from '../redis/redis-client.js';
import { RedisClients } from '../redis/redis-clients.js';
import { jobsRedisEndpoint, type RedisEndpoint } from '../redis/redis-endpoint.js';
import { RedisOutageLog } from '../redis/redis-outage.js';
import { RedisModule } from '../redis/redis.module.js';
import { HealthModule } from '../health/health.module.js';
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
 * chunk worker and the job store; BullMQ gets ioredis connections of its own (a worker blocks on
 * its connection while it waits for chunks, which the shared node-redis client, with its 50 ms
 * breaker timeout, must never do), and the job store has one that fails fast. All of them come
 * from {@link RedisClients}, so shutdown can drop them whatever Redis does. Without Redis the
 * routes exist and answer 501.
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
        RedisModule,
        BullModule.forRootAsync({
          imports: [RedisModule],
          inject: [RedisClients, SETTINGS],
          // Reconnects as soon as the other clients do (BullMQ's own backoff grows to 20 s). BullMQ
          // needs no retry limit per command: a worker's blocking read waits out an outage.
          useFactory: (clients: RedisClients, current: Settings) => ({
            connection: clients.ioredis('jobs-queue', jobsRedisEndpoint(current)!, {
              maxRetriesPerRequest: null,
              retryStrategy: reconnectDelayMs,
            }),
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
          useFactory: (current: Settings, clients: RedisClients) =>
            jobStore(jobStoreClient(clients, jobsRedisEndpoint(current)!), current),
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

/** The job store's connection: no offline queue, one try per command, reconnecting in the background. */
function jobStoreClient(clients: RedisClients, endpoint: RedisEndpoint): Redis | Cluster {
  const outage = new RedisOutageLog(new Logger('Jobs'), 'jobs-store', 'job routes answer 503 until it is back');
  const client = clients.ioredis('jobs-store', endpoint, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    retryStrategy: reconnectDelayMs,
  });
  // Without a listener ioredis reports every failed reconnect; one warning per outage (never the URL).
  client.on('error', (error: Error) => outage.failed(error));
  client.on('ready', () => outage.recovered());
  return client;
}
