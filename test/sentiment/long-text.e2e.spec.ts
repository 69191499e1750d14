// `long_text: "chunk"` on the predict route (in-process app, tiny baseline, real ONNX Runtime):
// what it reads that `truncate` misses, how it combines windows, its cache entries and its limits.
// Responses are checked against openapi.yaml.
import { scorePrediction, type Prediction } from '../../src/model/label-scores.js';
import request from '../support/contract-request.js';
import { expectProblem } from '../support/problem-assertions.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const PREDICT = '/v1/sentiment/predict';

/**
 * The baseline's logits follow the mean AFINN valence of a sequence's tokens. `the` has none and
 * `terrible` is −3; each is one token, so a text's token count is its word count plus [CLS] and [SEP].
 */
const words = (word: string, count: number) => Array.from({ length: count }, () => word).join(' ');

/** 600 neutral tokens, then 60 strongly negative ones: all of its sentiment is past token 512. */
const LATE_VERDICT = `${words('the', 600)} ${words('terrible', 60)}`;

function scoresOf(prediction: Prediction): Record<string, number> {
  return Object.fromEntries(prediction.map(({ label, score }) => [label, score]));
}

describe('long_text on the predict route (tiny baseline)', () => {
  let t: TestApp;
  const post = (body: object) => request(t.app.getHttpServer()).post(PREDICT).send(body);

  beforeAll(async () => {
    t = await startTestApp({ RATE_LIMIT_ENABLED: 'false' });
  });
  afterAll(() => t?.close());

  it('truncate misses a verdict after token 512; chunk finds it, as the token-weighted mean of its windows', async () => {
    const truncated = await post({ text: [LATE_VERDICT], details: true });
    expect(truncated.status).toBe(200);
    expect(truncated.body.details).toEqual([{ tokens: 662, truncated: true, cache: 'miss' }]);
    // The first 512 tokens hold no valence: the model sees nothing either way.
    const cut = scoresOf(truncated.body.predictions[0]);
    expect(Math.abs(cut.NEGATIVE - cut.POSITIVE)).toBeLessThan(1e-6);

    const chunked = await post({ text: [LATE_VERDICT], long_text: 'chunk', details: true });
    expect(chunked.status).toBe(200);
    // Its own cache entry: not the truncated answer.
    expect(chunked.headers['x-cache']).toBe('MISS');
    expect(chunked.body.details).toEqual([{ tokens: 662, truncated: false, cache: 'miss', windows: 2 }]);
    expect(chunked.body.predictions[0][0].label).toBe('NEGATIVE');
    expect(scoresOf(chunked.body.predictions[0]).NEGATIVE).toBeGreaterThan(0.75);

    // The rule, computed apart from the service: 510 content tokens a window, a quarter (127) shared;
    // the first window holds tokens 0–509 (all `the`), the second 383–659 (217 `the`, 60 `terrible`).
    const { labels, scoreFunction } = t.model.requireInfo();
    const windows = (await t.model.tokenize([words('the', 510), `${words('the', 217)} ${words('terrible', 60)}`]))
      .sequences;
    expect(windows.map((window) => window.length)).toEqual([512, 279]);
    const [first, second] = await t.model.classifySequences(windows);
    const mean = first.map((logit, i) => (logit * 512 + second[i] * 279) / (512 + 279));
    const expected = scoresOf(scorePrediction(mean, labels, scoreFunction));
    for (const label of labels) {
      expect(Math.abs(scoresOf(chunked.body.predictions[0])[label] - expected[label])).toBeLessThan(1e-6);
    }
  });

  it('caches chunked and truncated answers apart, the window count with the entry', async () => {
    const text = `${words('the', 550)} ${words('terrible', 40)} cache`;
    const chunked = await post({ text: [text], long_text: 'chunk', details: true });
    expect(chunked.headers['x-cache']).toBe('MISS');
    const again = await post({ text: [text], long_text: 'chunk', details: true });
    expect(again.headers['x-cache']).toBe('HIT');
    expect(again.body.details).toEqual([{ tokens: 593, truncated: false, cache: 'hit', windows: 2 }]);
    expect(again.body.predictions).toEqual(chunked.body.predictions);
    // A truncate request is never answered from the chunked entry, nor the other way round.
    const truncated = await post({ text: [text] });
    expect(truncated.headers['x-cache']).toBe('MISS');
    expect(truncated.body.predictions).not.toEqual(chunked.body.predictions);
    expect((await post({ text: [text] })).headers['x-cache']).toBe('HIT');
    expect((await post({ text: [text], long_text: 'chunk' })).body.predictions).toEqual(chunked.body.predictions);
  });

  it('answers a text of one window byte for byte as truncate does (512 tokens and fewer)', async () => {
    // 510 content tokens + [CLS] and [SEP]: exactly the model's maximum.
    const texts = [`${words('the', 505)} ${words('good', 5)}`, 'one window: I love it', ''];
    const truncated = await post({ text: texts, details: true });
    expect(truncated.body.details.map((d: { tokens: number }) => d.tokens)).toEqual([512, 8, 2]);
    const chunked = await post({ text: texts, long_text: 'chunk', details: true });
    expect(chunked.body.details.map((d: { windows: number }) => d.windows)).toEqual([1, 1, 1]);
    expect(JSON.stringify(chunked.body.predictions)).toBe(JSON.stringify(truncated.body.predictions));
    // Without details the whole answer is the same bytes.
    const plain = await post({ text: texts });
    const plainChunked = await post({ text: texts, long_text: 'chunk' });
    expect(plainChunked.text).toBe(plain.text);
    // One token more is two windows.
    const over = await post({ text: [`${words('the', 506)} ${words('good', 5)}`], long_text: 'chunk', details: true });
    expect(over.body.details).toEqual([{ tokens: 513, truncated: false, cache: 'miss', windows: 2 }]);
  });

  it('explicit truncate answers as leaving the option out; chunk ignores the cut options', async () => {
    const text = ['explicit default: a lovely day'];
    expect((await post({ text, long_text: 'truncate' })).text).toBe((await post({ text })).text);
    const long = `${words('terrible', 520)} ${words('good', 300)}`;
    const plain = await post({ text: [long], long_text: 'chunk' });
    const cutOptions = await post({ text: [long], long_text: 'chunk', truncate: false, truncation_direction: 'left' });
    expect(cutOptions.status).toBe(200);
    expect(cutOptions.body.predictions).toEqual(plain.body.predictions);
  });

  it('refuses an unknown long_text naming the field', async () => {
    const refused = await post({ text: ['x'], long_text: 'split' });
    expectProblem(refused, 422);
    expect(refused.body.errors).toEqual([{ path: 'long_text', message: 'must be one of truncate, chunk' }]);
  });
});

describe('long_text window limits (LONG_TEXT_MAX_WINDOWS=2, LONG_TEXT_MAX_WINDOWS_PER_REQUEST=3)', () => {
  let t: TestApp;
  const post = (body: object) => request(t.app.getHttpServer()).post(PREDICT).send(body);
  /** 2 windows: 600 content tokens. */
  const twoWindows = (tag: string) => `${words('the', 598)} limit ${tag}`;
  /** 3 windows: 1000 content tokens (windows at 0, 383 and 766). */
  const threeWindows = `${words('the', 999)} three`;

  beforeAll(async () => {
    t = await startTestApp({
      RATE_LIMIT_ENABLED: 'false',
      LONG_TEXT_MAX_WINDOWS: '2',
      LONG_TEXT_MAX_WINDOWS_PER_REQUEST: '3',
    });
  });
  afterAll(() => t?.close());

  it('answers 422 naming every position of a text needing too many windows and its count, never the text', async () => {
    const refused = await post({ text: ['short', threeWindows, 'short', threeWindows], long_text: 'chunk' });
    expectProblem(refused, 422, [threeWindows]);
    const message = 'needs 3 windows with long_text "chunk", more than LONG_TEXT_MAX_WINDOWS (2)';
    expect(refused.body.errors).toEqual([
      { path: 'text[1]', message },
      { path: 'text[3]', message },
    ]);
    // The limits are chunk's: truncated, the same text is answered.
    expect((await post({ text: [threeWindows] })).status).toBe(200);
  });

  it('answers 413 when the texts together need too many windows, cached or not', async () => {
    const [a, b] = [twoWindows('a'), twoWindows('b')];
    for (let attempt = 0; attempt < 2; attempt++) {
      const refused = await post({ text: [a, b, 'short'], long_text: 'chunk' });
      expectProblem(refused, 413, [a, b]);
      expect(refused.body.type).toBe('urn:sentiment-api:problem:too-many-windows');
      expect(refused.body.detail).toBe(
        'The texts need 5 windows with long_text "chunk", more than LONG_TEXT_MAX_WINDOWS_PER_REQUEST (3); ' +
          'send them in smaller requests.',
      );
      // Each alone is within the limits (and cached now): the second attempt is refused from the cache.
      for (const text of [a, b]) expect((await post({ text: [text], long_text: 'chunk' })).status).toBe(200);
    }
    // A repeated text is computed once, so counted once.
    expect((await post({ text: [a, a, 'short'], long_text: 'chunk' })).status).toBe(200);
  });
});
