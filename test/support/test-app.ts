import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { pino } from 'pino';
import { loadSettings, type Environment, type Settings } from '../../src/config/settings.js';
import { createApp } from '../../src/http/create-app.js';
import { baselineModelId } from '../../src/model/baseline/write-baseline-model.js';
import { SentimentModel } from '../../src/model/sentiment-model.service.js';
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

export interface TestApp {
  app: NestFastifyApplication;
  model: SentimentModel;
  settings: Settings;
  close(): Promise<void>;
}

/** The real application on Fastify, model loaded unless `loadModel` is false. */
export async function startTestApp(overrides: Environment = {}, { loadModel = true } = {}): Promise<TestApp> {
  const settings = testSettings(overrides);
  const app = await createApp(settings, pino({ level: 'silent' }));
  const model = app.get(SentimentModel);
  if (loadModel) {
    await model.load();
    if (!model.ready) throw new Error(`test model failed to load: ${model.failureReason}`);
  }
  return { app, model, settings, close: () => app.close() };
}
