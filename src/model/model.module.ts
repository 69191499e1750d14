import { Module } from '@nestjs/common';
import { ModelFaultInjector } from './model-fault-injector.js';
import { SentimentModel } from './sentiment-model.service.js';

@Module({ providers: [SentimentModel, ModelFaultInjector], exports: [SentimentModel, ModelFaultInjector] })
export class ModelModule {}
