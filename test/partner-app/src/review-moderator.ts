import {
  getModelInfo,
  predictSentiment,
  type LabelScore,
  type ModelInfo,
  type PredictDetail,
  type Problem,
} from '@sentiment-api/client';

/** What the moderator concluded about one review. */
export interface Verdict {
  text: string;
  label: string;
  confidence: number;
  /** The review's length in tokens, and whether the model saw only part of it. */
  tokens: number;
  truncated: boolean;
}

/** A call either gives its value or the service's problem, typed, with when to retry. */
export type Outcome<T> =
  { ok: true; value: T } | { ok: false; status: number; problem: Problem; retryAfterSeconds?: number };

/** A partner's review moderation, built only on the SDK's public API. */
export class ReviewModerator {
  constructor(private readonly baseUrl: string) {}

  async judge(reviews: string[]): Promise<Outcome<Verdict[]>> {
    // Only the winning label is needed; details say which reviews were too long to be read whole.
    const { data, error, response } = await predictSentiment({
      baseUrl: this.baseUrl,
      body: { text: reviews, top_k: 1, details: true },
    });
    if (error) return failed(response, error);
    return { ok: true, value: data.predictions.map((scores, i) => verdict(reviews[i], scores, data.details?.[i])) };
  }

  async model(): Promise<Outcome<ModelInfo>> {
    const { data, error, response } = await getModelInfo({ baseUrl: this.baseUrl });
    if (error) return failed(response, error);
    return { ok: true, value: data };
  }
}

function verdict(text: string, scores: LabelScore[], detail: PredictDetail | undefined): Verdict {
  const [best] = scores;
  return {
    text,
    label: best.label,
    confidence: best.score,
    tokens: detail?.tokens ?? 0,
    truncated: detail?.truncated ?? false,
  };
}

function failed(response: Response, problem: Problem): Outcome<never> {
  const retryAfter = response.headers.get('retry-after');
  return {
    ok: false,
    status: response.status,
    problem,
    ...(retryAfter === null ? {} : { retryAfterSeconds: Number(retryAfter) }),
  };
}
