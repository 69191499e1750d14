import { Injectable, type OnModuleInit } from '@nestjs/common';
import type { Counter, Histogram } from 'prom-client';
import { InferenceService } from '../inference/inference.service.js';
import { SentimentModel } from '../model/sentiment-model.service.js';
import { traceExemplar } from './exemplars.js';
import { METRIC } from './metric-names.js';
import { InjectMetric } from './metrics-registry.js';

/** Feeds the model call metrics from the model's call hook, and the scheduler's from its listener. */
@Injectable()
export class InferenceMetrics implements OnModuleInit {
  private classified = 0;

  constructor(
    private readonly model: SentimentModel,
    private readonly inference: InferenceService,
    @InjectMetric(METRIC.modelTokens) private readonly tokens: Counter,
    @InjectMetric(METRIC.admissions) private readonly admissions: Counter,
    @InjectMetric(METRIC.queueDrops) private readonly drops: Counter,
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
      this.callDuration.observe({ value: seconds, exemplarLabels: traceExemplar() });
      if (failed) this.failures.inc();
      else this.classified += batchSize;
    });
    this.inference.addListener({
      onCall: ({ ok, realTokens, paddedTokens }) => {
        if (!ok) return;
        this.tokens.inc({ kind: 'real' }, realTokens);
        this.tokens.inc({ kind: 'padded' }, paddedTokens);
      },
      onAdmit: () => this.admissions.inc({ outcome: 'admitted' }),
      onRefuse: (reason) => this.admissions.inc({ outcome: reason }),
      onDrop: (reason, texts) => this.drops.inc({ reason }, texts),
    });
  }
}
