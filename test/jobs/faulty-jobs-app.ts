import { getQueueOptionsToken, getQueueToken, type RegisterQueueOptions } from '@nestjs/bullmq';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { Queue, type Job, type JobsOptions } from 'bullmq';
import { pino } from 'pino';
import { AppModule } from '../../src/app.module.js';
import { configureApp, createAdapter } from '../../src/bootstrap/create-app.js';
import { SETTINGS } from '../../src/config/config.module.js';
import type { Settings } from '../../src/config/settings.js';
import { NestJsonLogger } from '../../src/http/json-logger.js';
import { JOB_CHUNK_QUEUE, JOB_STORE, type ChunkData } from '../../src/jobs/job-queue.js';
import { JobStore, type JobRecord, type Submission } from '../../src/jobs/job-store.js';
import { START_MODEL_WORKER } from '../../src/model/model-workers.js';
import { SentimentModel } from '../../src/model/sentiment-model.service.js';
import { RedisClients } from '../../src/redis/redis-clients.js';
import { startSourceWorker } from '../support/model-workers.js';
import { until } from '../support/until.js';

/** The steps of a submission a fault can be injected into. */
export type FaultyStep = 'stageChunk' | 'reserve' | 'create' | 'markQueued' | 'addBulk';

/**
 * When an injected fault strikes: `before` the step reaches Redis (the command failed), or `after`
 * it did its work (the write happened, its answer was lost: a timeout, a dropped connection).
 */
export type FaultTiming = 'before' | 'after';

interface Fault {
  step: FaultyStep;
  /** The call of the step (1: its first) that fails. */
  call: number;
  timing: FaultTiming;
  calls: number;
}

/** Faults armed for the next calls of a step, shared by the store and the queue of one app. */
export class Faults {
  private armed?: Fault;
  /** The job id of the submission the last fault struck. */
  struck?: string;

  /** Fails the `call`-th next call of `step` once. */
  arm(step: FaultyStep, { call = 1, timing = 'before' }: { call?: number; timing?: FaultTiming } = {}): void {
    this.armed = { step, call, timing, calls: 0 };
    this.struck = undefined;
  }

  /** True when the fault armed was used. */
  get spent(): boolean {
    return this.armed === undefined && this.struck !== undefined;
  }

  async around<T>(step: FaultyStep, id: string, work: () => Promise<T>): Promise<T> {
    const fault = this.armed;
    if (fault?.step !== step || ++fault.calls < fault.call) return work();
    this.armed = undefined;
    this.struck = id;
    if (fault.timing === 'after') await work();
    throw new Error(`injected ${step} failure (${fault.timing})`);
  }
}

/** The job store, failing one chosen call when told. */
class FaultyJobStore extends JobStore {
  constructor(
    redis: ConstructorParameters<typeof JobStore>[0],
    ttlSeconds: number,
    private readonly faults: Faults,
  ) {
    super(redis, ttlSeconds);
  }

  override stageChunk(id: string, chunk: number, staged: string): Promise<void> {
    return this.faults.around('stageChunk', id, () => super.stageChunk(id, chunk, staged));
  }

  override reserve(...args: Parameters<JobStore['reserve']>): ReturnType<JobStore['reserve']> {
    return this.faults.around('reserve', args[0].id, () => super.reserve(...args));
  }

  override create(submission: Submission, record: JobRecord, bodyHash: string): ReturnType<JobStore['create']> {
    return this.faults.around('create', submission.id, () => super.create(submission, record, bodyHash));
  }

  override markQueued(id: string): Promise<void> {
    return this.faults.around('markQueued', id, () => super.markQueued(id));
  }
}

/** BullMQ's queue, failing one chosen addBulk when told (after the chunks were really added). */
class FaultyQueue extends Queue<ChunkData> {
  faults?: Faults;

  override addBulk(jobs: { name: string; data: ChunkData; opts?: JobsOptions }[]): Promise<Job<ChunkData>[]> {
    const add = () => super.addBulk(jobs);
    return this.faults ? this.faults.around('addBulk', jobs[0]?.data.jobId ?? '', add) : add();
  }
}

export interface FaultyJobsApp {
  app: NestFastifyApplication;
  faults: Faults;
  close(): Promise<void>;
}

/**
 * The application as test/support/test-app.ts builds it, with the jobs module's store (JOB_STORE)
 * and chunk queue (`getQueueToken(JOB_CHUNK_QUEUE)`) swapped for ones that fail a chosen call once:
 * the store on the client jobs.module.ts gives the real one (the Redis module's `jobs-store`), the queue from the
 * options BullModule gives the real one.
 */
export async function startFaultyJobsApp(settings: Settings): Promise<FaultyJobsApp> {
  const logger = pino({ level: 'silent' });
  const faults = new Faults();
  let store: FaultyJobStore | undefined;
  const moduleRef = await Test.createTestingModule({ imports: [AppModule.forRoot(settings)] })
    .overrideProvider(START_MODEL_WORKER)
    .useValue(startSourceWorker)
    .overrideProvider(JOB_STORE)
    .useFactory({
      inject: [SETTINGS, RedisClients],
      factory: (current: Settings, clients: RedisClients) => {
        const client = clients.jobsStore();
        store = new FaultyJobStore(client, current.jobs.resultTtlSeconds, faults);
        const created = store;
        client.on('ready', () => void created.checkMemory(false).catch(() => undefined));
        return store;
      },
    })
    .overrideProvider(getQueueToken(JOB_CHUNK_QUEUE))
    .useFactory({
      inject: [getQueueOptionsToken(JOB_CHUNK_QUEUE)],
      factory: (options: RegisterQueueOptions) => {
        const queue = new FaultyQueue(
          options.name ?? JOB_CHUNK_QUEUE,
          options as ConstructorParameters<typeof Queue>[1],
        );
        queue.faults = faults;
        // What @nestjs/bullmq gives the queues it makes: closed with the application.
        Object.assign(queue, { onApplicationShutdown: () => queue.close() });
        return queue;
      },
    })
    .setLogger(new NestJsonLogger(logger))
    .compile();
  const app = moduleRef.createNestApplication<NestFastifyApplication>(createAdapter(settings, logger), {
    logger: new NestJsonLogger(logger),
  });
  await configureApp(app, settings);
  const model = app.get(SentimentModel);
  await model.load();
  if (!model.ready) throw new Error(`test model failed to load: ${model.failureReason}`);
  // The store's client has no offline queue: wait until it is connected (and has read maxmemory).
  await until(() => store?.isUp() === true, 10_000);
  return { app, faults, close: () => app.close() };
}
