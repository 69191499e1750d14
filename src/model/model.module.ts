import { Module } from '@nestjs/common';
import { ModelWorkerClient } from './model-worker-client.js';
import { START_MODEL_WORKER, startCompiledWorker } from './model-workers.js';
import { SentimentModel } from './sentiment-model.service.js';

@Module({
  providers: [SentimentModel, ModelWorkerClient, { provide: START_MODEL_WORKER, useValue: startCompiledWorker }],
  exports: [SentimentModel],
})
export class ModelModule {}
