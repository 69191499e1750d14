import { scorePrediction, type Prediction } from '../../src/model/label-scores.js';
import type { SentimentModel } from '../../src/model/sentiment-model.service.js';

/**
 * Tokenizes and classifies in one model call, past the scheduler and the cache, scored as the
 * model's config says: what the model itself answers.
 */
export async function classifyTexts(model: SentimentModel, texts: readonly string[]): Promise<Prediction[]> {
  const { labels, scoreFunction } = model.requireInfo();
  const logits = await model.classifySequences((await model.tokenize(texts)).sequences);
  return logits.map((row) => scorePrediction(row, labels, scoreFunction));
}
