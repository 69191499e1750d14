import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { pino, type Logger } from 'pino';
import { AppModule } from '../../src/app.module.js';
import { loadSettings, type Environment, type Settings } from '../../src/config/settings.js';
import { configureApp, createAdapter } from '../../src/bootstrap/create-app.js';
import { NestJsonLogger } from '../../src/http/json-logger.js';
import { baselineModelId } from '../../src/baseline-model/write-baseline-model.js';
import { START_MODEL_WORKER, type StartModelWorker } from '../../src/model/model-workers.js';
import { SentimentModel } from '../../src/model/sentiment-model.service.js';
import { startSourceWorker } from './model-workers.js';
import { TEST_MODELS_DIR } from './paths.js';

/** Settings for a test app: the tiny baseline from the shared models folder, no network. */
export function testSettings(overrides: Environment = {}): Settings {
  return loadSettings({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    MODEL_DIR: TEST_MODELS_DIR,
    MODEL_ID: baselineModelId('tiny'),
    ALLOW_REMOTE_MODELS: 'false',
    ...overrides,
  });
}

export interface TestAppOptions {
  /** How the model's worker threads start (default: from their sources); a faulty one for chaos tests. */
  startWorker?: StartModelWorker;
}

/**
 * The application as `createApp` builds it, from `Test.createTestingModule` so tests can swap
 * providers (the NestJS way): the model workers run from sources unless told otherwise.
 */
export async function createTestApp(
  settings: Settings,
  logger: Logger,
  { startWorker = startSourceWorker }: TestAppOptions = {},
): Promise<NestFastifyApplication> {
  const moduleRef = await Test.createTestingModule({ imports: [AppModule.forRoot(settings)] })
    .overrideProvider(START_MODEL_WORKER)
    .useValue(startWorker)
    .setLogger(new NestJsonLogger(logger))
    .compile();
  const app = moduleRef.createNestApplication<NestFastifyApplication>(createAdapter(settings, logger), {
    logger: new NestJsonLogger(logger),
  });
  return configureApp(app, settings);
}

export interface TestApp {
  app: NestFastifyApplication;
  model: SentimentModel;
  settings: Settings;
  close(): Promise<void>;
}

/** The real application on Fastify, model loaded unless `loadModel` is false. */
export async function startTestApp(
  overrides: Environment = {},
  { loadModel = true, ...options }: { loadModel?: boolean } & TestAppOptions = {},
): Promise<TestApp> {
  const settings = testSettings(overrides);
  const app = await createTestApp(settings, pino({ level: 'silent' }), options);
  const model = app.get(SentimentModel);
  if (loadModel) {
    await model.load();
    if (!model.ready) throw new Error(`test model failed to load: ${model.failureReason}`);
  }
  return { app, model, settings, close: () => app.close() };
}
