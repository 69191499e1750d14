import { Test, type TestingModule } from '@nestjs/testing';
import { pino } from 'pino';
import { NestJsonLogger } from '../../src/http/json-logger.js';
import { ConfigModule } from '../../src/config/config.module.js';
import { ModelModule } from '../../src/model/model.module.js';
import { START_MODEL_WORKER } from '../../src/model/model-workers.js';
import { SentimentModel } from '../../src/model/sentiment-model.service.js';
import { startSourceWorker } from '../support/model-workers.js';
import { testSettings } from '../support/test-app.js';
import { classifyTexts } from '../support/classify-texts.js';

const modules: TestingModule[] = [];

async function modelWith(overrides = {}): Promise<SentimentModel> {
  const moduleRef = await Test.createTestingModule({
    imports: [ConfigModule.forRoot(testSettings(overrides)), ModelModule],
  })
    .overrideProvider(START_MODEL_WORKER)
    .useValue(startSourceWorker)
    .setLogger(new NestJsonLogger(pino({ level: 'silent' })))
    .compile();
  modules.push(moduleRef);
  return moduleRef.get(SentimentModel);
}

// Closing the modules stops their model worker threads.
afterAll(() => Promise.all(modules.map((moduleRef) => moduleRef.close())));

describe('SentimentModel on the tiny baseline (real ONNX Runtime)', () => {
  let model: SentimentModel;

  beforeAll(async () => {
    model = await modelWith();
    await model.load();
  });

  it('is ready after loading, with labels from the model config', () => {
    expect(model.state).toBe('ready');
    expect(model.requireInfo().labels).toEqual(['NEGATIVE', 'POSITIVE']);
  });

  it('calls "I love you" POSITIVE and "I hate you" NEGATIVE', async () => {
    const [love, hate] = await classifyTexts(model, ['I love you', 'I hate you']);
    expect(love[0].label).toBe('POSITIVE');
    expect(hate[0].label).toBe('NEGATIVE');
  });

  it('gives a text the same scores alone and inside a 64-text batch', async () => {
    const text = 'The film was surprisingly good';
    const [alone] = await classifyTexts(model, [text]);
    const batch = Array.from({ length: 64 }, (_, i) =>
      i === 37 ? text : `filler ${i} ${'word '.repeat(i % 20)}terrible`,
    );
    const inBatch = (await classifyTexts(model, batch))[37];
    expect(inBatch.map((p) => p.label)).toEqual(alone.map((p) => p.label));
    inBatch.forEach((p, i) => expect(Math.abs(p.score - alone[i].score)).toBeLessThan(1e-5));
  });

  it('truncates a 3,000-word text rather than failing', async () => {
    const text = Array.from({ length: 3000 }, (_, i) => (i % 3 ? 'happy' : 'day')).join(' ');
    const [prediction] = await classifyTexts(model, [text]);
    expect(prediction[0].label).toBe('POSITIVE');
    expect(prediction[0].score + prediction[1].score).toBeCloseTo(1, 6);
  });

  it('loads once however often load() is called', async () => {
    const fresh = await modelWith();
    const first = fresh.load();
    expect(fresh.load()).toBe(first);
    await first;
    expect(fresh.load()).toBe(first);
  });
});

describe('SentimentModel without model files', () => {
  it('never turns ready when fallback is off, and says what to do', async () => {
    const model = await modelWith({ MODEL_ID: 'nobody/missing-model', MODEL_FALLBACK: 'none' });
    await model.load();
    expect(model.state).toBe('failed');
    expect(model.ready).toBe(false);
    expect(model.failureReason).toMatch(/not found under .*ALLOW_REMOTE_MODELS=false.*MODEL_FALLBACK=baseline/);
    await expect(classifyTexts(model, ['hi'])).rejects.toMatchObject({ retryAfterSeconds: expect.any(Number) });
  });

  it('serves the baseline when fallback is on', async () => {
    const model = await modelWith({
      MODEL_ID: 'nobody/missing-model',
      MODEL_FALLBACK: 'baseline',
      BASELINE_PRESET: 'tiny',
    });
    await model.load();
    expect(model.state).toBe('ready');
    expect(model.requireInfo()).toMatchObject({ source: 'baseline', name: 'distilbert-sst2-afinn-baseline-tiny' });
  });
});
