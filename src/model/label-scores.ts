/** One label with its softmax probability. */
export interface LabelScore {
  label: string;
  score: number;
}

/** Every label of the model for one text, sorted by score, highest first. */
export type Prediction = LabelScore[];

/**
 * Turns one row of logits into label probabilities. Computed in float64 with the max
 * subtracted, so long or extreme inputs cannot overflow and the scores sum to 1.
 */
export function softmaxPrediction(logits: ArrayLike<number>, labels: readonly string[]): Prediction {
  let max = -Infinity;
  for (let i = 0; i < labels.length; i++) max = Math.max(max, logits[i]);
  const exps = labels.map((_, i) => Math.exp(logits[i] - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return labeledPrediction(
    labels,
    exps.map((exp) => exp / sum),
  );
}

/** Pairs scores (in label order) with their labels, highest score first, ties by label. */
export function labeledPrediction(labels: readonly string[], scores: readonly number[]): Prediction {
  return labels
    .map((label, i) => ({ label, score: scores[i] }))
    .sort((a, b) => b.score - a.score || a.label.localeCompare(b.label));
}
