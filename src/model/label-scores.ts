/** One label with its score. */
export interface LabelScore {
  label: string;
  score: number;
}

/** Labels of one text with their scores, sorted by score, highest first. */
export type Prediction = LabelScore[];

/**
 * How logits become scores, named as the transformers pipeline names them: `softmax` (scores of a
 * text sum to 1: single-label models), `sigmoid` (each label on its own, 0..1: multi-label
 * models), `none` (the raw logits).
 */
export type ScoreFunction = 'softmax' | 'sigmoid' | 'none';

/** What the model says about one text: its logits in the model's label order, and its length. */
export interface ModelOutput {
  logits: readonly number[];
  /** Tokens of the whole text, special tokens included: more than the model's maximum means it was cut. */
  tokens: number;
  /** Only for a text read in windows (`long_text: "chunk"`): how many; its logits combine theirs. */
  windows?: number;
}

/**
 * The activation a model's config asks for, as the transformers pipeline decides it: sigmoid for
 * `problem_type: multi_label_classification` or a single label, softmax otherwise.
 */
export function defaultScoreFunction(problemType: string | undefined, labelCount: number): ScoreFunction {
  return problemType === 'multi_label_classification' || labelCount === 1 ? 'sigmoid' : 'softmax';
}

/** Scores of one text's logits, every label, highest first; `topK` keeps only the first k. */
export function scorePrediction(
  logits: ArrayLike<number>,
  labels: readonly string[],
  scoreFunction: ScoreFunction,
  topK = labels.length,
): Prediction {
  const scores =
    scoreFunction === 'softmax'
      ? softmax(logits, labels.length)
      : Array.from({ length: labels.length }, (_, i) => (scoreFunction === 'sigmoid' ? sigmoid(logits[i]) : logits[i]));
  return labeledPrediction(labels, scores).slice(0, topK);
}

/** Computed in float64 with the max subtracted, so long or extreme inputs cannot overflow and the scores sum to 1. */
function softmax(logits: ArrayLike<number>, count: number): number[] {
  let max = -Infinity;
  for (let i = 0; i < count; i++) max = Math.max(max, logits[i]);
  const exps = Array.from({ length: count }, (_, i) => Math.exp(logits[i] - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((exp) => exp / sum);
}

/** Written for either sign, so a large negative logit gives a tiny score rather than exp overflow. */
function sigmoid(logit: number): number {
  if (logit >= 0) return 1 / (1 + Math.exp(-logit));
  const exp = Math.exp(logit);
  return exp / (1 + exp);
}

/** Pairs scores (in label order) with their labels, highest score first, ties by label. */
export function labeledPrediction(labels: readonly string[], scores: readonly number[]): Prediction {
  return labels
    .map((label, i) => ({ label, score: scores[i] }))
    .sort((a, b) => b.score - a.score || a.label.localeCompare(b.label));
}
