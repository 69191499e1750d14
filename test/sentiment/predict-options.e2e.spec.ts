// Request options (top_k, function_to_apply, truncate, truncation_direction, long_text, details)
// through the built server on the tiny baseline; responses are also checked against openapi.yaml.
// long_text: "chunk" itself: long-text.e2e.spec.ts.
import request from '../support/contract-request.js';
import { expectProblem } from '../support/problem-assertions.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';

type Prediction = { label: string; score: number }[];
const PREDICT = '/v1/sentiment/predict';

/** A text over the model's 512 tokens: negative words first, positive ones at its end. */
const LONG_TEXT = `${'bad '.repeat(600)}${'good '.repeat(600)}`.trim();

function byLabel(prediction: Prediction): Record<string, number> {
  return Object.fromEntries(prediction.map(({ label, score }) => [label, score]));
}

describe('predict options (built server, tiny baseline model)', () => {
  let built: ServerProcess;
  let server: string;
  let labels: string[];
  const post = (body: object) => request(server).post(PREDICT).send(body);

  beforeAll(async () => {
    built = await startServerProcess('predict-options');
    server = built.baseUrl;
    labels = (await request(server).get('/v1/model')).body.labels as string[];
  });
  afterAll(() => built?.stop());

  it('answers exactly as before with every option at its default', async () => {
    const text = ['options: I love it', 'options: I hate it'];
    const plain = await post({ text });
    const explicit = await post({
      text,
      top_k: labels.length,
      function_to_apply: 'default',
      truncate: true,
      truncation_direction: 'right',
      long_text: 'truncate',
      details: false,
    });
    expect(explicit.status).toBe(200);
    expect(explicit.text).toBe(plain.text);
    expect(plain.body).not.toHaveProperty('details');
    const info = await request(server).get('/v1/model');
    expect(info.body.scoreFunction).toBe('softmax');
  });

  it('top_k keeps the k highest labels; more than the model has is a 422', async () => {
    const all = await post({ text: ['top k: wonderful'] });
    const top = await post({ text: ['top k: wonderful'], top_k: 1 });
    expect(top.body.predictions[0]).toEqual([all.body.predictions[0][0]]);
    const tooMany = await post({ text: ['top k'], top_k: labels.length + 1 });
    expectProblem(tooMany, 422);
    expect(tooMany.body.errors).toEqual([
      { path: 'top_k', message: `must be at most ${labels.length}, the model's label count` },
    ]);
    for (const top_k of [0, 1.5, '1']) expectProblem(await post({ text: ['x'], top_k }), 422);
  });

  it('function_to_apply: none gives the logits, softmax and sigmoid are computed from them', async () => {
    const text = ['activation: a lovely, happy day'];
    const logits = byLabel((await post({ text, function_to_apply: 'none' })).body.predictions[0]);
    const softmax = byLabel((await post({ text, function_to_apply: 'softmax' })).body.predictions[0]);
    const sigmoid = byLabel((await post({ text, function_to_apply: 'sigmoid' })).body.predictions[0]);
    const sum = labels.reduce((total, label) => total + Math.exp(logits[label]), 0);
    for (const label of labels) {
      expect(softmax[label]).toBeCloseTo(Math.exp(logits[label]) / sum, 12);
      expect(sigmoid[label]).toBeCloseTo(1 / (1 + Math.exp(-logits[label])), 12);
    }
    // Two labels of a sentiment model: sigmoid scores are independent, so they need not sum to 1.
    expect(Math.abs(sigmoid.POSITIVE + sigmoid.NEGATIVE - 1)).toBeGreaterThan(1e-3);
    expectProblem(await post({ text, function_to_apply: 'relu' }), 422);
  });

  it('one cached entry answers every activation and top_k', async () => {
    const text = [`shared entry ${Date.now()}: fine`];
    expect((await post({ text })).headers['x-cache']).toBe('MISS');
    for (const options of [{ function_to_apply: 'sigmoid' }, { function_to_apply: 'none', top_k: 1 }]) {
      expect((await post({ text, ...options })).headers['x-cache']).toBe('HIT');
    }
  });

  it('cuts a long text from the right by default, from the left on request, each cached apart', async () => {
    const right = await post({ text: [LONG_TEXT], details: true });
    expect(right.status).toBe(200);
    expect(right.body.details).toEqual([{ tokens: 1202, truncated: true, cache: 'miss' }]);
    expect(right.body.predictions[0][0].label).toBe('NEGATIVE');

    const left = await post({ text: [LONG_TEXT], truncation_direction: 'left', details: true });
    expect(left.headers['x-cache']).toBe('MISS');
    expect(left.body.details).toEqual([{ tokens: 1202, truncated: true, cache: 'miss' }]);
    expect(left.body.predictions[0][0].label).toBe('POSITIVE');

    const leftAgain = await post({ text: [LONG_TEXT], truncation_direction: 'left', details: true });
    expect(leftAgain.body.details).toEqual([{ tokens: 1202, truncated: true, cache: 'hit' }]);
    expect(leftAgain.body.predictions).toEqual(left.body.predictions);
  });

  it('truncate: false refuses a long text naming it, its tokens and the limit, cached or not', async () => {
    // Not sent by any other test: the first attempt is computed, the second read from the cache.
    const fresh = 'bad '.repeat(700).trim();
    for (let attempt = 0; attempt < 2; attempt++) {
      const refused = await post({ text: ['short one', fresh, 'short one', fresh], truncate: false });
      expectProblem(refused, 422, [fresh]);
      expect(refused.body.errors).toEqual([
        { path: 'text[1]', message: "has 702 tokens, more than the model's 512 (truncate is false)" },
        { path: 'text[3]', message: "has 702 tokens, more than the model's 512 (truncate is false)" },
      ]);
      // Cached now: the stored token count refuses it the second time.
      await post({ text: [fresh] });
    }
    const fits = await post({ text: ['a short text'], truncate: false, details: true });
    expect(fits.status).toBe(200);
    expect(fits.body.details[0]).toEqual(expect.objectContaining({ tokens: 5, truncated: false }));
  });

  it('details are parallel to predictions, repeated texts included', async () => {
    const unique = `details ${Date.now()}`;
    await post({ text: ['details: seen before'] });
    const response = await post({ text: [unique, 'details: seen before', unique], details: true });
    expect(response.headers['x-cache']).toBe('PARTIAL');
    expect(response.body.details.map((d: { cache: string }) => d.cache)).toEqual(['miss', 'hit', 'miss']);
    expect(response.body.details).toHaveLength(response.body.predictions.length);
  });
});
