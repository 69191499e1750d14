import { Module } from '@nestjs/common';
import { SentimentModel } from './sentiment-model.service.js';

@Module({ providers: [SentimentModel], exports: [SentimentModel] })
export class ModelModule {}
