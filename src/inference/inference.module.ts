import { Module } from '@nestjs/common';
import { ModelModule } from '../model/model.module.js';
import { InferenceService } from './inference.service.js';

@Module({ imports: [ModelModule], providers: [InferenceService], exports: [InferenceService] })
export class InferenceModule {}
