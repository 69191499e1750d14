import { Test, type TestingModule } from '@nestjs/testing';
import type { Worker } from 'node:worker_threads';
import { pino } from 'pino';
import { ConfigModule } from '../../src/config/config.module.js';
import { NestJsonLogger } from '../../src/http/json-logger.js';
import { ModelModule } from '../../src/model/model.module.js';
import { START_MODEL_WORKER, type StartModelWorker } from '../../src/model/model-workers.js';
import { SentimentModel } from '../../src/model/sentiment-model.service.js';
import { startSourceWorker } from '../support/model-workers.js';
import { testSettings } from '../support/test-app.js';
import { until } from '../support/until.js';

const BACKOFF_MS = 400;
const MAX_RESTARTS = 2;

/** The model's workers from their sources (the model module's worker seam), each tokenizer worker kept with when it started. */
class TokenizerStarts {
  readonly started: { worker: Worker; at: number }[] = [];

  readonly start: StartModelWorker = (name, data) => {
    const worker = startSourceWorker(name, data);
    if (name === 'tokenizer-worker') this.started.push({ worker, at: performance.now() });
    return worker;
  };

  /** Stops the newest tokenizer worker as a crash would; resolves with when it was stopped. */
  async crashNewest(): Promise<number> {
    const at = performance.now();
    await this.started.at(-1)!.worker.terminate();
    return at;
  }
}

/**
 * The tokenizer worker's restarts, through the real workers started by the model module's worker
 * seam (START_MODEL_WORKER): the same backoff as the model worker's (MODEL_RESTART_BACKOFF_MS,
 * doubling while the restarted worker does no work, MODEL_MAX_RESTARTS in a row at most). Times are
 * lower bounds only: a restart never comes before its delay, however busy the machine.
 */
describe('a tokenizer worker lost after the model is ready', () => {
  let moduleRef: TestingModule;
  let model: SentimentModel;
  let workers: TokenizerStarts;

  beforeAll(async () => {
    workers = new TokenizerStarts();
    moduleRef = await Test.createTestingModule({
      imports: [
        ConfigModule.forRoot(
          testSettings({ MODEL_RESTART_BACKOFF_MS: String(BACKOFF_MS), MODEL_MAX_RESTARTS: String(MAX_RESTARTS) }),
        ),
        ModelModule,
      ],
    })
      .overrideProvider(START_MODEL_WORKER)
      .useValue(workers.start)
      .setLogger(new NestJsonLogger(pino({ level: 'silent' })))
      .compile();
    model = moduleRef.get(SentimentModel);
    await model.load();
    expect(model.ready).toBe(true);
  });
  afterAll(() => moduleRef.close());

  const tokenizes = async () => expect((await model.tokenize(['a fine day'])).sequences).toHaveLength(1);

  it('is restarted after the backoff, doubling without work in between, and given up on past MODEL_MAX_RESTARTS', async () => {
    await tokenizes();

    // Lost: the model is out of service until its tokenizer is back, after MODEL_RESTART_BACKOFF_MS.
    const first = await workers.crashNewest();
    expect(model.ready).toBe(false);
    await expect(model.tokenize(['a fine day'])).rejects.toMatchObject({ reason: 'model-not-ready' });
    await until(() => model.ready, 20_000);
    expect(workers.started).toHaveLength(2);
    expect(workers.started[1].at - first).toBeGreaterThanOrEqual(BACKOFF_MS);
    // It works, so the next loss starts from the first delay again.
    await tokenizes();

    const second = await workers.crashNewest();
    await until(() => model.ready, 20_000);
    expect(workers.started[2].at - second).toBeGreaterThanOrEqual(BACKOFF_MS);

    // Lost again before it did any work: twice the delay.
    const third = await workers.crashNewest();
    await until(() => model.ready, 20_000);
    expect(workers.started[3].at - third).toBeGreaterThanOrEqual(2 * BACKOFF_MS);
    expect(model.beyondRepair).toBe(false);

    // MODEL_MAX_RESTARTS restarts in a row brought no work: no more restarts, liveness fails.
    await workers.crashNewest();
    expect(model.beyondRepair).toBe(true);
    expect(model.state).toBe('failed');
    expect(workers.started).toHaveLength(4);
    expect(model.restarts).toBe(3);
  });
});
