import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { map, type Observable } from 'rxjs';
import type { CacheStatus } from './prediction-cache.js';

export const CACHE_HEADER = 'x-cache';

/** What a cached route's handler returns: its answer plus how the prediction cache served it. */
export interface CachedOutcome {
  cacheStatus: CacheStatus;
}

/**
 * The HTTP edge of the prediction cache: turns the handler's cache outcome into `X-Cache` and
 * leaves it out of the body. The lookup itself happens on the service path (PredictionCache).
 */
@Injectable()
export class PredictionCacheInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler<CachedOutcome>): Observable<unknown> {
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    return next.handle().pipe(
      map(({ cacheStatus, ...answer }) => {
        void reply.header(CACHE_HEADER, cacheStatus);
        return answer;
      }),
    );
  }
}
