import { applyDecorators, HttpCode, UseInterceptors } from '@nestjs/common';
import { ApiBody, ApiOkResponse } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { PredictionCacheInterceptor } from '../cache/prediction-cache.interceptor.js';
import {
  ApiProblemResponses,
  headerRef,
  RATE_LIMIT_STATUS_HEADERS,
  type ProblemResponse,
} from '../http/openapi-responses.js';
import { PROBLEM } from '../http/problem-catalogue.js';
import { NeedsModel } from '../inference/needs-model.js';
import { clientGoneSignal } from './client-gone.js';
import {
  PREDICT_LONG_TEXT_REQUEST_EXAMPLE,
  PREDICT_LONG_TEXT_RESPONSE_EXAMPLE,
  PREDICT_OPTIONS_REQUEST_EXAMPLE,
  PREDICT_OPTIONS_RESPONSE_EXAMPLE,
  PREDICT_REQUEST_EXAMPLE,
  PREDICT_RESPONSE_EXAMPLE,
} from './dto/openapi-examples.js';
import { PredictRequestDto } from './dto/predict-request.dto.js';
import { PredictResponseDto } from './dto/predict-response.dto.js';

/** What the predict routes' 422 means: an invalid body, or texts the model cannot take as asked. */
const INVALID_PREDICT_REQUEST: ProblemResponse = {
  kind: PROBLEM.validation,
  description:
    'Invalid body: `text` missing, not an array, empty or longer than `MAX_BATCH_SIZE`; an item not a string or ' +
    'longer than `MAX_TEXT_CHARS`; an unknown field. With `truncate: false`, a text longer than the model takes; ' +
    'with `long_text: "chunk"`, a text needing more than `LONG_TEXT_MAX_WINDOWS` windows (`text[i]` with its ' +
    'count). `errors` names every invalid path.',
  detail: 'The request body is not a valid predict request.',
  errors: [{ path: 'text', message: 'must contain at least 1 text' }],
};

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
        longTextChunked: {
          summary: 'A review whose verdict comes after 512 tokens, read whole (long_text: chunk)',
          value: PREDICT_LONG_TEXT_REQUEST_EXAMPLE,
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
        longTextChunked: {
          summary: 'The review read in 2 windows (with the default truncate, both labels score 0.5)',
          value: PREDICT_LONG_TEXT_RESPONSE_EXAMPLE,
        },
      },
      headers: { 'X-Cache': headerRef('X-Cache'), ...RATE_LIMIT_STATUS_HEADERS, ...headers },
    }),
    ApiProblemResponses(path, [400, 401, 413, 415, INVALID_PREDICT_REQUEST, 429, 503]),
  );
}

/** A way to learn that the client hung up, asked for only when texts go to the model. */
export function clientGoneOf(reply: FastifyReply): () => AbortSignal {
  return () => clientGoneSignal(reply);
}
