import { Injectable } from '@nestjs/common';
import { SentimentModel } from '../model/sentiment-model.service.js';
import { ShutdownState } from './shutdown-state.js';

/** The one rule for "should this pod get traffic": the model is loaded and no shutdown has begun. */
@Injectable()
export class Readiness {
  constructor(
    private readonly model: SentimentModel,
    private readonly shutdown: ShutdownState,
  ) {}

  get ready(): boolean {
    return this.model.ready && !this.shutdown.shuttingDown;
  }
}
