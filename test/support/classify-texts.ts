import type { Prediction } from '../../src/model/label-scores.js';
import type { SentimentModel } from '../../src/model/sentiment-model.service.js';

/** Tokenizes and classifies in one model call, past the scheduler and the cache: what the model itself answers. */
export async function classifyTexts(model: SentimentModel, texts: readonly string[]): Promise<Prediction[]> {
  return model.classifySequences(await model.tokenize(texts));
}
