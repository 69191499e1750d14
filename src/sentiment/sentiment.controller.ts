import { Body, Controller, Get, Post, Res } from '@nestjs/common';
import { ApiExtraModels, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { CurrentCaller } from '../auth/caller.js';
import type { Caller } from '../common/caller.js';
import { ApiKeySecurity } from '../auth/api-key-security.js';
import { Protected } from '../auth/route-access.js';
import { ApiProblemResponses, RATE_LIMIT_STATUS_HEADERS } from '../http/openapi-responses.js';
import { ModelInfoDto } from './dto/model-info.dto.js';
import { MODEL_INFO_EXAMPLE } from './dto/openapi-examples.js';
import { PredictRequestDto } from './dto/predict-request.dto.js';
import { LabelScoreDto } from './dto/predict-response.dto.js';
import { PredictOperation, clientGoneOf } from './predict-operation.js';
import { PredictRequestPipe } from './predict-request.pipe.js';
import { SentimentService, type PredictOutcome } from './sentiment.service.js';

export const PREDICT_DESCRIPTION =
  'Answers every text with the confidence of each label (softmax probabilities, highest first), in request ' +
  'order. With the default fp32 model the same text always gets the same scores, whether from the cache, ' +
  'alone, or batched with others; with `MODEL_DTYPE=q8` they can differ by up to about 0.001 with the batch a text ' +
  'runs in (dynamic quantization scales each batch), and a cached answer repeats the first one. ' +
  'The examples are real answers of the offline baseline model; the real DistilBERT answers with its own ' +
  'name (`distilbert-base-uncased-finetuned-sst-2-english`) and scores (about 0.9998 / 0.0002 for this request).';

@ApiTags('sentiment')
@ApiExtraModels(LabelScoreDto)
@ApiKeySecurity()
@Protected({ realm: 'sentiment-api', rateLimited: true })
@Controller('v1')
export class SentimentController {
  constructor(private readonly sentiment: SentimentService) {}

  @Post('sentiment/predict')
  @PredictOperation('/v1/sentiment/predict')
  @ApiOperation({
    operationId: 'predictSentiment',
    summary: 'Classify texts as POSITIVE or NEGATIVE',
    description: PREDICT_DESCRIPTION,
  })
  predict(
    @Body(PredictRequestPipe) body: PredictRequestDto,
    @CurrentCaller() caller: Caller,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<PredictOutcome> {
    // The cache interceptor turns the outcome's cache status into X-Cache.
    return this.sentiment.predict(body, caller, clientGoneOf(reply));
  }

  @Get('model')
  @ApiOperation({
    operationId: 'getModelInfo',
    summary: 'Describe the model being served',
    description:
      'Model id, source, fingerprint (the revision actually served), labels, dtype, maximum sequence length, ' +
      'the request limits, runtime threads, load time, and the cache backend and TTL. The example is the offline ' +
      'baseline model.',
  })
  @ApiOkResponse({
    description: 'The model being served.',
    type: ModelInfoDto,
    example: MODEL_INFO_EXAMPLE,
    headers: RATE_LIMIT_STATUS_HEADERS,
  })
  @ApiProblemResponses('/v1/model', [401, 429, 503])
  modelInfo(): ModelInfoDto {
    return this.sentiment.modelInfo();
  }
}
