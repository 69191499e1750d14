import { getModelInfo, predictSentiment, type LabelScore, type ModelInfo, type Problem } from '@sentiment-api/client';

/** What the moderator concluded about one review. */
export interface Verdict {
  text: string;
  label: string;
  confidence: number;
}

/** A call either gives its value or the service's problem, typed, with when to retry. */
export type Outcome<T> =
  { ok: true; value: T } | { ok: false; status: number; problem: Problem; retryAfterSeconds?: number };

/** A partner's review moderation, built only on the SDK's public API. */
export class ReviewModerator {
  constructor(private readonly baseUrl: string) {}

  async judge(reviews: string[]): Promise<Outcome<Verdict[]>> {
    const { data, error, response } = await predictSentiment({ baseUrl: this.baseUrl, body: { text: reviews } });
    if (error) return failed(response, error);
    return { ok: true, value: data.predictions.map((scores, i) => verdict(reviews[i], scores)) };
  }

  async model(): Promise<Outcome<ModelInfo>> {
    const { data, error, response } = await getModelInfo({ baseUrl: this.baseUrl });
    if (error) return failed(response, error);
    return { ok: true, value: data };
  }
}

function verdict(text: string, scores: LabelScore[]): Verdict {
  const [best] = scores;
  return { text, label: best.label, confidence: best.score };
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
