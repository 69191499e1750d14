import { labeledPrediction, type Prediction } from '../model/label-scores.js';

/** Scores may drift this far from summing to 1 (float rounding) and still be trusted. */
const SUM_TOLERANCE = 1e-6;

/** A prediction as stored: its scores in the model's label order, e.g. `[0.0002, 0.9998]`. */
export function encodeScores(prediction: Prediction, labels: readonly string[]): number[] {
  const byLabel = new Map(prediction.map(({ label, score }) => [label, score]));
  return labels.map((label) => {
    const score = byLabel.get(label);
    if (score === undefined) throw new Error(`prediction has no score for label ${label}`);
    return score;
  });
}

/**
 * The prediction a stored value stands for, or undefined when the value is not one this model
 * could have written (corrupt, truncated, another label set): the caller treats that as a miss.
 */
export function decodeScores(value: unknown, labels: readonly string[]): Prediction | undefined {
  if (!Array.isArray(value) || value.length !== labels.length) return undefined;
  if (!value.every((score) => typeof score === 'number' && score >= 0 && score <= 1)) return undefined;
  const scores = value as number[];
  if (Math.abs(scores.reduce((sum, score) => sum + score, 0) - 1) > SUM_TOLERANCE) return undefined;
  return labeledPrediction(labels, scores);
}
