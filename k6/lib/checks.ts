// What every predict response must satisfy, as named yes/no results: k6 reports them as
// `checks`, bench/load-smoke.ts counts them the same way. No imports: k6 and Node load this file.

export interface CheckOptions {
  /** Under overload a fast 503 is the expected answer, not a failure. */
  allowShedding: boolean;
}

interface LabelScore {
  label: unknown;
  score: unknown;
}

/** One prediction per text, every label with a score, scores summing to 1. */
function wellFormedPredictions(body: string | null, textCount: number): boolean {
  if (body === null) return false;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return false;
  }
  const predictions = (parsed as { predictions?: unknown }).predictions;
  if (!Array.isArray(predictions) || predictions.length !== textCount) return false;
  return predictions.every((prediction: unknown) => {
    if (!Array.isArray(prediction) || prediction.length < 2) return false;
    const scores = (prediction as LabelScore[]).map(({ label, score }) =>
      typeof label === 'string' && typeof score === 'number' ? score : NaN,
    );
    return Math.abs(scores.reduce((sum, score) => sum + score, 0) - 1) < 1e-3;
  });
}

export function predictChecks(
  status: number,
  body: string | null,
  textCount: number,
  { allowShedding }: CheckOptions,
): Record<string, boolean> {
  const shed = allowShedding && status === 503;
  return {
    [allowShedding ? 'status is 200 or 503' : 'status is 200']: status === 200 || shed,
    'one prediction per text, scores sum to 1': shed || (status === 200 && wellFormedPredictions(body, textCount)),
  };
}
