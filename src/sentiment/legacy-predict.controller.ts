import { Body, Controller, Post, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { CurrentCaller } from '../auth/caller.js';
import type { Caller } from '../common/caller.js';
import { ApiKeySecurity } from '../auth/api-key-security.js';
import { Protected } from '../auth/route-access.js';
import { Deprecated, ORIGINAL_ROUTES_DEPRECATED } from '../http/deprecation.js';
import { headerRef } from '../http/openapi-responses.js';
import { PredictRequestDto } from './dto/predict-request.dto.js';
import { PredictOperation, clientGoneOf } from './predict-operation.js';
import { PredictRequestPipe } from './predict-request.pipe.js';
import { PREDICT_DESCRIPTION } from './sentiment.controller.js';
import { SentimentService, type PredictOutcome } from './sentiment.service.js';

/**
 * The FastAPI original's predict route, so its clients move by changing only the host: the same
 * body and answer as `/v1/sentiment/predict`, behind the same key check, rate limit, cache and
 * admission (route config), with `Deprecation` and `Link` pointing at the v1 route.
 */
@ApiTags('compatibility')
@ApiKeySecurity()
@Protected({ realm: 'sentiment-api', rateLimited: true })
@Controller('project')
export class LegacyPredictController {
  constructor(private readonly sentiment: SentimentService) {}

  @Post('bulk-predict')
  @Deprecated({ successor: '/v1/sentiment/predict', since: ORIGINAL_ROUTES_DEPRECATED })
  @PredictOperation('/project/bulk-predict', { Deprecation: headerRef('Deprecation'), Link: headerRef('Link') })
  @ApiOperation({
    operationId: 'bulkPredict',
    deprecated: true,
    summary: 'Classify texts (the FastAPI original’s route; use /v1/sentiment/predict)',
    description: `The route of the FastAPI service this one replaces, kept so its clients can move without changing their URL. ${PREDICT_DESCRIPTION}`,
  })
  bulkPredict(
    @Body(PredictRequestPipe) body: PredictRequestDto,
    @CurrentCaller() caller: Caller,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<PredictOutcome> {
    return this.sentiment.predict(body, caller, clientGoneOf(reply));
  }
}
