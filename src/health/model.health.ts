import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { SETTINGS } from '../config/config.module.js';
import type { Settings } from '../config/settings.js';
import { SentimentModel } from '../model/sentiment-model.service.js';

/** `model`: up once the model is loaded and warmed; down while it loads or after it failed. */
@Injectable()
export class ModelHealthIndicator {
  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly model: SentimentModel,
    @Inject(SETTINGS) private readonly settings: Settings,
  ) {}

  check(): HealthIndicatorResult<'model'> {
    const indicator = this.indicators.check('model');
    const { state, failureReason } = this.model;
    // The served id can differ from MODEL_ID (baseline fallback); it is known once loaded.
    const id = this.model.info?.id ?? this.settings.modelId;
    if (state === 'ready') return indicator.up({ id, state });
    return indicator.down(failureReason === undefined ? { id, state } : { id, state, failureReason });
  }

  /** `worker` for liveness: down only when the model worker is beyond repair (see SentimentModel.beyondRepair). */
  checkRepairable(): HealthIndicatorResult<'worker'> {
    const indicator = this.indicators.check('worker');
    return this.model.beyondRepair ? indicator.down({ state: 'beyond-repair' }) : indicator.up();
  }
}
