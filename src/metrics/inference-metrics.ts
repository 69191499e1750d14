import { Injectable, type OnModuleInit } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { Counter, Histogram } from 'prom-client';
import { SentimentModel } from '../model/sentiment-model.service.js';
import { METRIC } from './metric-names.js';

/** Feeds the model call metrics from the model's call hook. */
@Injectable()
export class InferenceMetrics implements OnModuleInit {
  private classified = 0;

  constructor(
    private readonly model: SentimentModel,
    @InjectMetric(METRIC.modelCalls) private readonly calls: Counter,
    @InjectMetric(METRIC.modelCallFailures) private readonly failures: Counter,
    @InjectMetric(METRIC.modelBatchSize) private readonly batchSize: Histogram,
    @InjectMetric(METRIC.modelCallDuration) private readonly callDuration: Histogram,
  ) {}

  /** Texts the model has classified (read into `sentiment_texts_total{source="model"}` at scrape time). */
  get textsClassified(): number {
    return this.classified;
  }

  onModuleInit(): void {
    this.model.onModelCall((batchSize, seconds, failed) => {
      this.calls.inc();
      this.batchSize.observe(batchSize);
      this.callDuration.observe(seconds);
      if (failed) this.failures.inc();
      else this.classified += batchSize;
    });
  }
}
