import { Inject, Injectable } from '@nestjs/common';
import { PredictionCache } from '../cache/prediction-cache.js';
import { SETTINGS } from '../config/config.module.js';
import type { Settings } from '../config/settings.js';
import type { Prediction } from '../model/label-scores.js';
import { BatchingClassifier } from '../inference/batching-classifier.service.js';
import { SentimentModel } from '../model/sentiment-model.service.js';
import type { ModelInfoDto } from './dto/model-info.dto.js';

/** What the predict route answers: the model's name and one prediction per text. */
export interface PredictResult {
  model: string;
  predictions: Prediction[];
}

@Injectable()
export class SentimentService {
  constructor(
    private readonly model: SentimentModel,
    private readonly classifier: BatchingClassifier,
    private readonly cache: PredictionCache,
    @Inject(SETTINGS) private readonly settings: Settings,
  ) {}

  async predict(texts: readonly string[]): Promise<PredictResult> {
    const predictions = await this.classifier.classify(texts);
    return { model: this.model.requireInfo().name, predictions };
  }

  modelInfo(): ModelInfoDto {
    const { id, name, source, fingerprint, labels, dtype, maxSequenceLength, backend, threads, loadTimeMs } =
      this.model.requireInfo();
    const { maxBatchSize, maxTextChars } = this.settings;
    return {
      id,
      name,
      source,
      fingerprint,
      labels,
      dtype,
      maxSequenceLength,
      maxBatchSize,
      maxTextChars,
      backend,
      threads,
      loadTimeMs,
      cache: { backend: this.cache.backend, ttlSeconds: this.cache.ttlSeconds },
    };
  }
}
