import { describeStatuses, summarizeLoad } from '../../bench/lib/load-summary.js';
import { parseCpuTimes, stealShare } from '../../bench/lib/machine.js';
import { MixedLengthGenerator, VOCABULARY } from '../../bench/lib/texts.js';
import { loadTokenCounter, sum, tokenBudgetBatches } from '../../bench/lib/token-count.js';
import { baselineModelId } from '../../src/baseline-model/write-baseline-model.js';
import { TEST_MODELS_DIR } from '../support/paths.js';

// The benchmark's own arithmetic: what its tables count and the workloads it sends.
describe('benchmark harness', () => {
  it('counts every answer by status, the unanswered too, and never rounds a refusal up to 100 % served', () => {
    const summary = summarizeLoad({
      responses: [
        ...Array.from({ length: 997 }, () => ({ status: 200, ms: 10, texts: 16 })),
        { status: 503, ms: 1, texts: 16 },
        { status: 500, ms: 1, texts: 16 },
      ],
      errors: 1,
      checksPassed: 0,
      checksFailed: 0,
      elapsedSeconds: 10,
    });
    expect(summary.requests).toBe(1000);
    expect(describeStatuses(summary)).toBe('200: 997 · 500: 1 · 503: 1 · no answer: 1 · 99.7 % served');
    expect(describeStatuses({ statuses: { 200: 9999, 503: 1 }, noAnswer: 0, servedShare: 0.9999 })).toBe(
      '200: 9,999 · 503: 1 · 99.9 % served',
    );
  });

  it('reads steal time from /proc/stat: its share of all CPU time between two readings, guest time not counted twice', () => {
    const before = parseCpuTimes('cpu  100 0 50 800 10 0 5 35 20 0\ncpu0 50 0 25 400 5 0 2 18 10 0\n');
    expect(before).toEqual({ total: 1000, steal: 35 });
    const after = parseCpuTimes('cpu  400 0 150 1100 10 0 5 335 300 0\n');
    expect(stealShare(before, after)).toBeCloseTo(300 / 1000);
    expect(stealShare(before, before)).toBe(0);
    expect(() => parseCpuTimes('intr 1 2 3\n')).toThrow(/not a \/proc\/stat cpu line/);
  });

  it('makes the same mixed-length texts from the same seed, log-uniform from 3 to 400 words', () => {
    const options = { textsPerRequest: 4, minWords: 3, maxWords: 400, seed: 7 };
    const texts = new MixedLengthGenerator(options).texts(2000);
    expect(new MixedLengthGenerator(options).texts(2000)).toEqual(texts);
    expect(new MixedLengthGenerator({ ...options, seed: 8 }).texts(10)).not.toEqual(texts.slice(0, 10));
    const words = texts.map((text) => text.split(' ').length);
    expect(Math.min(...words)).toBe(3);
    expect(Math.max(...words)).toBeLessThanOrEqual(400);
    expect(Math.max(...words)).toBeGreaterThan(380);
    // Log-uniform: the geometric middle (≈ 35 words) splits the texts in half.
    const belowMiddle = words.filter((n) => n < Math.sqrt(3 * 400)).length / words.length;
    expect(belowMiddle).toBeGreaterThan(0.45);
    expect(belowMiddle).toBeLessThan(0.55);
    expect(new Set(texts).size).toBe(texts.length);
  });

  it("counts tokens with the model's tokenizer: every vocabulary word is one token, truncation at 512", async () => {
    const count = await loadTokenCounter({ modelDir: TEST_MODELS_DIR, modelId: baselineModelId('tiny') });
    expect(count(VOCABULARY)).toEqual(VOCABULARY.map(() => 3));
    const texts = new MixedLengthGenerator({ textsPerRequest: 1, minWords: 3, maxWords: 400, seed: 1 }).texts(50);
    expect(count(texts)).toEqual(texts.map((text) => text.split(' ').length + 2));
    expect(count([Array.from({ length: 600 }, () => VOCABULARY[0]).join(' ')])).toEqual([512]);
  });

  it('cuts length-sorted batches within the token budget and the text bound', () => {
    const tokens = [400, 13, 13, 100, 30, 600, 13, 60];
    const batches = tokenBudgetBatches(tokens, 200, 2);
    expect(batches.flat().sort()).toEqual(tokens.map((_, i) => i).sort());
    for (const batch of batches) {
      expect(batch.length).toBeLessThanOrEqual(2);
      if (batch.length > 1) expect(batch.length * Math.max(...batch.map((i) => tokens[i]))).toBeLessThanOrEqual(200);
    }
    expect(batches.map((batch) => batch.map((i) => tokens[i]))).toEqual([[13, 13], [13, 30], [60, 100], [400], [600]]);
    expect(sum(batches.map((batch) => batch.length))).toBe(tokens.length);
  });
});
