import { applyDecorators, HttpCode, UseInterceptors } from '@nestjs/common';
import { ApiBody, ApiOkResponse } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { apiKeyOf } from '../auth/api-key-credential.js';
import { PredictionCacheInterceptor } from '../cache/prediction-cache.interceptor.js';
import { ApiProblemResponses, headerRef, RATE_LIMIT_STATUS_HEADERS } from '../http/openapi-responses.js';
import { NeedsModel } from '../inference/needs-model.js';
import { clientGoneSignal } from './client-gone.js';
import {
  PREDICT_OPTIONS_REQUEST_EXAMPLE,
  PREDICT_OPTIONS_RESPONSE_EXAMPLE,
  PREDICT_REQUEST_EXAMPLE,
  PREDICT_RESPONSE_EXAMPLE,
} from './dto/openapi-examples.js';
import { PredictRequestDto } from './dto/predict-request.dto.js';
import { PredictResponseDto } from './dto/predict-response.dto.js';
import type { PredictContext } from './sentiment.service.js';

/**
 * What every predict route is: answered 200 with `X-Cache`, admitted by the model's scheduler,
 * and documented with the same body, answer and problems. `path` names the route in the examples;
 * `headers` adds response headers of the route's own.
 */
export function PredictOperation(path: string, headers: Record<string, ReturnType<typeof headerRef>> = {}) {
  return applyDecorators(
    HttpCode(200),
    UseInterceptors(PredictionCacheInterceptor),
    NeedsModel(),
    // Examples pair up by name: each response example is the answer to the request example of its name.
    ApiBody({
      type: PredictRequestDto,
      examples: {
        twoTexts: { summary: 'Two texts', value: PREDICT_REQUEST_EXAMPLE },
        topLabelWithDetails: {
          summary: 'The top label only, with details (top_k, details)',
          value: PREDICT_OPTIONS_REQUEST_EXAMPLE,
        },
      },
    }),
    ApiOkResponse({
      description: 'One prediction per text.',
      type: PredictResponseDto,
      examples: {
        twoTexts: { summary: 'Two texts', value: PREDICT_RESPONSE_EXAMPLE },
        topLabelWithDetails: {
          summary: 'The top label only, with details (a first request: every text from the model)',
          value: PREDICT_OPTIONS_RESPONSE_EXAMPLE,
        },
      },
      headers: { 'X-Cache': headerRef('X-Cache'), ...RATE_LIMIT_STATUS_HEADERS, ...headers },
    }),
    ApiProblemResponses(path, [400, 401, 413, 415, 422, 429, 503]),
  );
}

/** Who asks (their key, checked at the edge) and a way to learn that they hung up. */
export function predictContext(request: FastifyRequest, reply: FastifyReply): PredictContext {
  return { apiKey: apiKeyOf(request.headers), clientGone: () => clientGoneSignal(reply) };
}
