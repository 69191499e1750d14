import { Module } from '@nestjs/common';
import { ModelModule } from '../model/model.module.js';
import { BatchingClassifier } from './batching-classifier.service.js';

@Module({ imports: [ModelModule], providers: [BatchingClassifier], exports: [BatchingClassifier] })
export class InferenceModule {}
