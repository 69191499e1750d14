import { decodeOutput, encodeOutput } from '../../src/cache/prediction-codec.js';
import { scorePrediction } from '../../src/model/label-scores.js';

const LABELS = ['NEGATIVE', 'POSITIVE'];

describe('stored model outputs', () => {
  it('round-trip through JSON exactly, so a cached answer scores like the model’s own', () => {
    for (const logits of [
      [-2.5, 3.1],
      [4, -1],
      [0.3, 0.3],
      [-700, 700],
      // float32 values as the worker sends them
      Array.from(Float32Array.of(1.2345678, -0.1)),
    ]) {
      const output = { logits, tokens: 7 };
      const decoded = decodeOutput(JSON.parse(JSON.stringify(encodeOutput(output))), LABELS.length);
      expect(decoded).toEqual(output);
      for (const fn of ['softmax', 'sigmoid', 'none'] as const) {
        expect(scorePrediction(decoded!.logits, LABELS, fn)).toEqual(scorePrediction(logits, LABELS, fn));
      }
    }
  });

  it('keeps three-label logits in the model order too', () => {
    const output = { logits: [0.1, 2, -1], tokens: 600 };
    expect(decodeOutput(encodeOutput(output), 3)).toEqual(output);
  });

  it('keeps the window count of a text read in windows, and needs it for such an entry', () => {
    const output = { logits: [0.1, -0.2], tokens: 782, windows: 2 };
    expect(decodeOutput(JSON.parse(JSON.stringify(encodeOutput(output))), 2, true)).toEqual(output);
    // A truncated text's entry stores no window count, as before.
    expect(encodeOutput({ logits: [0.1, -0.2], tokens: 782 })).toEqual({ logits: [0.1, -0.2], tokens: 782 });
    for (const windows of [undefined, 0, 1.5, '2']) {
      expect(decodeOutput({ logits: [0.1, -0.2], tokens: 782, windows }, 2, true)).toBeUndefined();
    }
  });

  it.each([
    ['not JSON at all', 'garbage{'],
    ['a number', 0.5],
    ['null', null],
    ['the v1 format (scores in label order)', [0.1, 0.9]],
    ['too few logits', { logits: [1], tokens: 3 }],
    ['too many logits', { logits: [0.2, 0.3, 0.5], tokens: 3 }],
    ['a string logit', { logits: ['0.1', 0.9], tokens: 3 }],
    ['NaN', { logits: [NaN, 1], tokens: 3 }],
    ['no token count', { logits: [0.1, 0.9] }],
    ['a fractional token count', { logits: [0.1, 0.9], tokens: 2.5 }],
    ['a negative token count', { logits: [0.1, 0.9], tokens: -1 }],
  ])('treats %s as no value', (_case, value) => {
    expect(decodeOutput(value, LABELS.length)).toBeUndefined();
  });
});
