import { Inject, Injectable } from '@nestjs/common';
import { SETTINGS } from '../config/config.module.js';
import type { Settings } from '../config/settings.js';
import type { Prediction } from '../model/label-scores.js';
import { SentimentModel } from '../model/sentiment-model.service.js';
import { systemClock } from './clock.js';
import { MicroBatcher, type BatchListener } from './micro-batcher.js';

/**
 * The model behind the micro-batcher: what request handlers call instead of the model, so
 * concurrent requests share model calls and overload turns into fast 503s.
 */
@Injectable()
export class BatchingClassifier {
  private readonly listeners: BatchListener[] = [];
  private readonly batcher: MicroBatcher<Prediction>;

  constructor(
    private readonly model: SentimentModel,
    @Inject(SETTINGS) private readonly settings: Settings,
  ) {
    this.batcher = new MicroBatcher<Prediction>(
      (texts) => this.model.classify(texts),
      {
        maxBatchTexts: settings.batchMaxTexts,
        windowMs: settings.batchWindowMs,
        maxQueueTexts: settings.queueMaxTexts,
        maxQueueWaitMs: settings.queueMaxWaitMs,
        maxConcurrentBatches: settings.maxConcurrentBatches,
      },
      systemClock,
      { onBatch: (texts, seconds, ok) => this.listeners.forEach((listener) => listener.onBatch?.(texts, seconds, ok)) },
    );
  }

  /** Texts waiting for a model call. */
  get queueDepth(): number {
    return this.batcher.queuedTexts;
  }

  /** Observes every model call the batcher makes (for metrics). */
  onBatch(listener: BatchListener['onBatch']): void {
    this.listeners.push({ onBatch: listener });
  }

  classify(texts: readonly string[]): Promise<Prediction[]> {
    // Before the model is ready, fail at once rather than queueing work nobody can do.
    this.model.requireInfo();
    return this.batcher.submit(texts, this.settings.requestTimeoutMs || undefined);
  }
}
