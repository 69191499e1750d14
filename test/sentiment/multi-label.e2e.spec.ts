// A multi-label model (`problem_type: multi_label_classification`) scored end to end: the
// generated multi-label baseline, three labels, sigmoid per label unless a request says otherwise.
import { baselineModelId } from '../../src/baseline-model/write-baseline-model.js';
import request from '../support/contract-request.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';

type Prediction = { label: string; score: number }[];
const PREDICT = '/v1/sentiment/predict';
const sigmoid = (logit: number) => 1 / (1 + Math.exp(-logit));
const sum = (prediction: Prediction) => prediction.reduce((total, { score }) => total + score, 0);

describe('a multi-label model (built server, generated multi-label baseline, tiny)', () => {
  let built: ServerProcess;
  let server: string;
  const post = (body: object) => request(server).post(PREDICT).send(body);

  beforeAll(async () => {
    built = await startServerProcess('multi-label', { MODEL_ID: baselineModelId('tiny', 'multi-label') });
    server = built.baseUrl;
  });
  afterAll(() => built?.stop());

  it('describes itself as multi-label, scored by sigmoid', async () => {
    const info = await request(server).get('/v1/model');
    expect(info.body).toEqual(
      expect.objectContaining({
        labels: ['NEGATIVE', 'POSITIVE', 'STRONG'],
        problemType: 'multi_label_classification',
        scoreFunction: 'sigmoid',
      }),
    );
  });

  it('scores each label on its own by default: sigmoid of its logit, not summing to 1', async () => {
    const text = ['I love you', 'I hate you', 'the table is in the room'];
    const scored = (await post({ text })).body.predictions as Prediction[];
    const logits = (await post({ text, function_to_apply: 'none' })).body.predictions as Prediction[];
    scored.forEach((prediction, i) => {
      expect(prediction).toHaveLength(3);
      for (const { label, score } of prediction) {
        expect(score).toBeCloseTo(sigmoid(logits[i].find((entry) => entry.label === label)!.score), 12);
      }
    });
    const [love, hate, neutral] = scored.map((prediction) =>
      Object.fromEntries(prediction.map((p) => [p.label, p.score])),
    );
    expect(love.POSITIVE).toBeGreaterThan(0.5);
    expect(love.STRONG).toBeGreaterThan(0.5);
    expect(love.NEGATIVE).toBeLessThan(0.5);
    expect(hate.NEGATIVE).toBeGreaterThan(0.5);
    expect(hate.POSITIVE).toBeLessThan(0.5);
    for (const label of ['NEGATIVE', 'POSITIVE', 'STRONG']) expect(neutral[label]).toBeLessThan(0.5);
    // Two labels hold at once for "I love you": the scores cannot be a distribution.
    expect(sum(scored[0])).toBeGreaterThan(1.2);
    expect(Math.abs(sum(scored[2]) - 1)).toBeGreaterThan(0.2);
  });

  it('answers softmax when a request asks for it, and top_k of the sigmoid scores', async () => {
    const softmax = (await post({ text: ['I love you'], function_to_apply: 'softmax' })).body.predictions[0];
    expect(sum(softmax)).toBeCloseTo(1, 10);
    const top = (await post({ text: ['I love you'], top_k: 2 })).body.predictions[0] as Prediction;
    expect(top.map(({ label }) => label).sort()).toEqual(['POSITIVE', 'STRONG']);
  });
});
