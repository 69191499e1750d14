import { DynamicModule, Module } from '@nestjs/common';
import { ConfigModule } from './config/config.module.js';
import type { Settings } from './config/settings.js';
import { ModelModule } from './model/model.module.js';
import { SentimentModule } from './sentiment/sentiment.module.js';

@Module({})
export class AppModule {
  static forRoot(settings: Settings): DynamicModule {
    return { module: AppModule, imports: [ConfigModule.forRoot(settings), ModelModule, SentimentModule] };
  }
}
