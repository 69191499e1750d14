import { decodeScores, encodeScores } from '../../src/cache/prediction-codec.js';
import { softmaxPrediction } from '../../src/model/label-scores.js';

const LABELS = ['NEGATIVE', 'POSITIVE'];

describe('prediction values', () => {
  it('stores the scores in label order and decodes exactly the prediction the model made', () => {
    for (const logits of [
      [-2.5, 3.1],
      [4, -1],
      [0.3, 0.3],
      [-700, 700],
    ]) {
      const prediction = softmaxPrediction(logits, LABELS);
      const stored = encodeScores(prediction, LABELS);
      expect(stored).toEqual(LABELS.map((label) => prediction.find((p) => p.label === label)!.score));
      expect(decodeScores(JSON.parse(JSON.stringify(stored)), LABELS)).toEqual(prediction);
    }
  });

  it('keeps three-label predictions in the model order too', () => {
    const labels = ['negative', 'neutral', 'positive'];
    const prediction = softmaxPrediction([0.1, 2, -1], labels);
    expect(decodeScores(encodeScores(prediction, labels), labels)).toEqual(prediction);
  });

  it.each([
    ['not JSON at all', 'garbage{'],
    ['a number', 0.5],
    ['null', null],
    ['an object', { NEGATIVE: 0.1, POSITIVE: 0.9 }],
    ['too few scores', [1]],
    ['too many scores', [0.2, 0.3, 0.5]],
    ['a string score', ['0.1', 0.9]],
    ['a negative score', [-0.1, 1.1]],
    ['scores not summing to 1', [0.5, 0.6]],
    ['NaN', [NaN, 1]],
  ])('treats %s as no value', (_case, value) => {
    expect(decodeScores(value, LABELS)).toBeUndefined();
  });

  it('refuses to encode a prediction that lacks one of the labels', () => {
    expect(() => encodeScores([{ label: 'POSITIVE', score: 1 }], LABELS)).toThrow(/NEGATIVE/);
  });
});
