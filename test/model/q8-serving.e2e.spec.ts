// MODEL_DTYPE=q8 end to end: the real app serves onnx/model_quantized.onnx of the tiny baseline
// (generated next to model.onnx by the global setup), the way it would serve the hub's file.
import { join } from 'node:path';
import request from 'supertest';
import { baselineModelId } from '../../src/baseline-model/write-baseline-model.js';
import { fingerprint, modelFolder, sha256File } from '../../src/model/model-files.js';
import { TEST_MODELS_DIR } from '../support/paths.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

type Prediction = { label: string; score: number }[];

const PREDICT = '/v1/sentiment/predict';
const TEXTS = ['I love you', 'I hate you'];
const onnxFile = (file: string) => join(modelFolder(TEST_MODELS_DIR, baselineModelId('tiny')), 'onnx', file);

describe('MODEL_DTYPE=q8 (real app, tiny baseline)', () => {
  let q8: TestApp;
  let fp32: TestApp;

  beforeAll(async () => {
    q8 = await startTestApp({ MODEL_DTYPE: 'q8' });
    fp32 = await startTestApp({ MODEL_DTYPE: 'fp32' });
  });
  afterAll(async () => {
    await Promise.all([q8?.close(), fp32?.close()]);
  });

  const predict = async (t: TestApp): Promise<Prediction[]> => {
    const response = await request(t.app.getHttpServer()).post(PREDICT).send({ text: TEXTS });
    expect(response.status).toBe(200);
    return response.body.predictions;
  };

  it('reports dtype q8 and the fingerprint of model_quantized.onnx, not that of model.onnx', async () => {
    const [quantized, exact] = await Promise.all(
      [q8, fp32].map((t) => request(t.app.getHttpServer()).get('/v1/model')),
    );
    expect(quantized.status).toBe(200);
    // 'local': found in the model folder like any downloaded model, not regenerated for the request.
    expect(quantized.body).toMatchObject({ id: baselineModelId('tiny'), source: 'local', dtype: 'q8' });
    expect(exact.body).toMatchObject({ id: baselineModelId('tiny'), dtype: 'fp32' });
    expect(quantized.body.fingerprint).toBe(fingerprint(await sha256File(onnxFile('model_quantized.onnx'))));
    expect(exact.body.fingerprint).toBe(fingerprint(await sha256File(onnxFile('model.onnx'))));
    expect(quantized.body.fingerprint).not.toBe(exact.body.fingerprint);
  });

  it('labels "I love you" POSITIVE and "I hate you" NEGATIVE', async () => {
    const [love, hate] = await predict(q8);
    expect(love[0].label).toBe('POSITIVE');
    expect(hate[0].label).toBe('NEGATIVE');
    for (const prediction of [love, hate]) {
      expect(prediction.reduce((sum, { score }) => sum + score, 0)).toBeCloseTo(1, 6);
    }
  });

  it('scores close to the fp32 app but from the quantized weights', async () => {
    const [quantized, exact] = await Promise.all([predict(q8), predict(fp32)]);
    const scoreOf = (prediction: Prediction, label: string) => prediction.find((p) => p.label === label)?.score ?? NaN;
    const differences = quantized.flatMap((prediction, i) =>
      prediction.map(({ label, score }) => Math.abs(score - scoreOf(exact[i], label))),
    );
    expect(Math.max(...differences)).toBeLessThan(0.1);
    // Identical scores would mean the fp32 file was loaded after all.
    expect(Math.max(...differences)).toBeGreaterThan(1e-4);
  });
});
