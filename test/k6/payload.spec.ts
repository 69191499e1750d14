import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkPayloadOptions, PayloadGenerator, poolText, sentence, SENTENCE_SPACE } from '../../k6/lib/payload.js';
import { baselineModelId } from '../../src/baseline-model/write-baseline-model.js';
import { modelFolder } from '../../src/model/model-files.js';
import { TEST_MODELS_DIR } from '../support/paths.js';

/** A small deterministic generator (mulberry32), so ratios can be asserted exactly. */
function seededRandom(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function texts(generator: PayloadGenerator, requests: number): string[] {
  return Array.from({ length: requests }, () => generator.body().text).flat();
}

describe('payload generator shared by k6, load:smoke and the benchmark', () => {
  it('puts batchSize texts in every request body', () => {
    const generator = new PayloadGenerator({ batchSize: 16, cacheHitRatio: 0.5, poolSize: 10 });
    for (let i = 0; i < 20; i++) expect(generator.body().text).toHaveLength(16);
  });

  it('never repeats a text when the cache-hit ratio is 0 (every text a cache miss)', () => {
    const all = texts(new PayloadGenerator({ batchSize: 8, cacheHitRatio: 0, poolSize: 10 }), 1000);
    expect(new Set(all).size).toBe(all.length);
  });

  it('draws only from the pool when the cache-hit ratio is 1', () => {
    const generator = new PayloadGenerator({ batchSize: 4, cacheHitRatio: 1, poolSize: 25 });
    const pool = new Set(generator.pool());
    expect(pool.size).toBe(25);
    const all = texts(generator, 500);
    expect(all.every((text) => pool.has(text))).toBe(true);
    expect(new Set(all).size).toBe(25);
  });

  it('mixes pool and unique texts in the configured proportion', () => {
    const generator = new PayloadGenerator({ batchSize: 10, cacheHitRatio: 0.3, poolSize: 50 }, seededRandom(7));
    const pool = new Set(generator.pool());
    const all = texts(generator, 400);
    const share = all.filter((text) => pool.has(text)).length / all.length;
    expect(share).toBeGreaterThan(0.27);
    expect(share).toBeLessThan(0.33);
  });

  it('gives two generators different unique texts (separate processes and k6 VUs)', () => {
    const options = { batchSize: 100, cacheHitRatio: 0, poolSize: 1 };
    const first = new Set(texts(new PayloadGenerator(options), 10));
    const second = texts(new PayloadGenerator(options), 10);
    expect(second.filter((text) => first.has(text)).length).toBeLessThan(10);
  });

  it('numbers distinct sentences distinctly, pool texts included', () => {
    const numbered = Array.from({ length: 5000 }, (_, n) => sentence(n));
    expect(new Set(numbered).size).toBe(5000);
    expect(sentence(SENTENCE_SPACE + 3)).toBe(sentence(3));
    const pool = Array.from({ length: 1000 }, (_, i) => poolText(i));
    expect(new Set(pool).size).toBe(1000);
  });

  it('writes ~12-token sentences: 11 words, each a single token of the BERT uncased vocabulary', () => {
    const tokenizer = JSON.parse(
      readFileSync(join(modelFolder(TEST_MODELS_DIR, baselineModelId('tiny')), 'tokenizer.json'), 'utf8'),
    ) as { model: { vocab: Record<string, number> } };
    const generator = new PayloadGenerator({ batchSize: 50, cacheHitRatio: 0.5, poolSize: 20 });
    for (const text of [...texts(generator, 20), ...generator.pool()]) {
      const words = text.split(' ');
      expect(words).toHaveLength(11);
      expect(words.filter((word) => !(word in tokenizer.model.vocab))).toEqual([]);
    }
  });

  it('rejects options that cannot make a request', () => {
    expect(() => checkPayloadOptions({ batchSize: 0, cacheHitRatio: 0, poolSize: 1 })).toThrow(/batch size/);
    expect(() => checkPayloadOptions({ batchSize: 1.5, cacheHitRatio: 0, poolSize: 1 })).toThrow(/batch size/);
    expect(() => checkPayloadOptions({ batchSize: 1, cacheHitRatio: 1.2, poolSize: 1 })).toThrow(/cache-hit ratio/);
    expect(() => checkPayloadOptions({ batchSize: 1, cacheHitRatio: NaN, poolSize: 1 })).toThrow(/cache-hit ratio/);
    expect(() => checkPayloadOptions({ batchSize: 1, cacheHitRatio: 0, poolSize: 0 })).toThrow(/pool size/);
  });
});
