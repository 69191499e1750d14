import { Inject, Injectable } from '@nestjs/common';
import { SETTINGS } from '../config/config.module.js';
import type { Settings } from '../config/settings.js';
import type { Prediction } from '../model/label-scores.js';
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
    @Inject(SETTINGS) private readonly settings: Settings,
  ) {}

  async predict(texts: readonly string[]): Promise<PredictResult> {
    const predictions = await this.model.classify(texts);
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
    };
  }
}
