import { Inject, Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { from, lastValueFrom, type Observable } from 'rxjs';
import { apiKeyOf } from '../auth/api-key-credential.js';
import { tenantOf } from '../auth/tenant.js';
import { SETTINGS } from '../config/config.module.js';
import type { Settings } from '../config/settings.js';
import type { Prediction } from '../model/label-scores.js';
import { SentimentModel } from '../model/sentiment-model.service.js';
import { cacheableTexts } from './cacheable-texts.js';
import { PredictionCache } from './prediction-cache.js';

export const CACHE_HEADER = 'x-cache';

/** The part of the predict handler's answer the cache uses. */
interface PredictAnswer {
  predictions: Prediction[];
}

/**
 * Puts the prediction cache in front of the predict handler: answers cached texts itself and
 * hands the handler a body with only the texts it must compute. Bodies the validation pipe
 * might reject, and requests made before the model is ready, pass through untouched so the
 * handler answers them (422, 503) exactly as without a cache.
 */
@Injectable()
export class PredictionCacheInterceptor implements NestInterceptor {
  constructor(
    private readonly cache: PredictionCache,
    private readonly model: SentimentModel,
    @Inject(SETTINGS) private readonly settings: Settings,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const http = context.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const texts = cacheableTexts(request.body, this.settings);
    const info = this.model.info;
    if (!texts || !info) return next.handle();
    // The API-key guard has run: a key here is a valid one.
    const tenant = tenantOf(apiKeyOf(request.headers), this.settings);
    return from(
      this.cache
        .predict(
          texts,
          info,
          async (misses) => {
            request.body = { text: misses };
            const answer = (await lastValueFrom(next.handle())) as PredictAnswer;
            return answer.predictions;
          },
          tenant,
        )
        .then(({ predictions, status }) => {
          void http.getResponse<FastifyReply>().header(CACHE_HEADER, status);
          return { model: info.name, predictions };
        }),
    );
  }
}
