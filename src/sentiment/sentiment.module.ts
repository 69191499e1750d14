import { Module } from '@nestjs/common';
import { CacheModule } from '../cache/cache.module.js';
import { ModelModule } from '../model/model.module.js';
import { LegacyPredictController } from './legacy-predict.controller.js';
import { PredictRequestPipe } from './predict-request.pipe.js';
import { SentimentController } from './sentiment.controller.js';
import { SentimentService } from './sentiment.service.js';

@Module({
  imports: [ModelModule, CacheModule],
  controllers: [SentimentController, LegacyPredictController],
  providers: [SentimentService, PredictRequestPipe],
  exports: [SentimentService],
})
export class SentimentModule {}
