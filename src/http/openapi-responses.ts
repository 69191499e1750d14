import { applyDecorators } from '@nestjs/common';
import { ApiExtraModels, ApiResponse, getSchemaPath, type HeaderObject, type ReferenceObject } from '@nestjs/swagger';
import { PROBLEM } from './problem-catalogue.js';
import { RATE_LIMITED_DETAIL, UNAUTHORIZED_DETAIL } from './problem-details.js';
import { PROBLEM_CONTENT_TYPE, type ProblemFieldError, type ProblemKind } from './problem.js';
import { ProblemDto } from './problem.dto.js';

/** Response headers shared by operations, declared once under `components.headers`; always sent where documented. */
export const RESPONSE_HEADERS = {
  'X-Request-Id': {
    required: true,
    description:
      'Id of this request: the caller’s `X-Request-Id` echoed when it is a plain token ' +
      '(`[A-Za-z0-9._:-]`, up to 128 characters), otherwise a generated UUID. Every log line of the request carries it.',
    schema: { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,128}$', example: '5f0c6a8e-3b1d-4c2a-9e7f-1a2b3c4d5e6f' },
  },
  'X-Cache': {
    required: true,
    description:
      'Where the predictions came from: `HIT` all from the cache, `MISS` all from the model, `PARTIAL` some of each, ' +
      '`BYPASS` the cache was unavailable and the model answered everything.',
    schema: { type: 'string', enum: ['HIT', 'MISS', 'PARTIAL', 'BYPASS'] },
  },
  'WWW-Authenticate': {
    required: true,
    description: 'How to authenticate: an API key as a bearer token (or in `X-API-Key`).',
    schema: { type: 'string', example: 'Bearer realm="sentiment-api"' },
  },
  'Retry-After': {
    required: true,
    description: 'Seconds to wait before retrying.',
    schema: { type: 'integer', minimum: 1, example: 5 },
  },
  Deprecation: {
    required: true,
    description:
      'This route is deprecated (RFC 9745): the Unix time it was deprecated at, as `@<seconds>`. It keeps working; ' +
      'move to the route in `Link`.',
    schema: { type: 'string', example: '@1796083200' },
  },
  Link: {
    required: true,
    description: 'The route that replaces this one (`rel="successor-version"`).',
    schema: { type: 'string', example: '</v1/sentiment/predict>; rel="successor-version"' },
  },
  'RateLimit-Limit': {
    required: true,
    description: 'Requests allowed per minute per API key (per client IP without keys): `RATE_LIMIT_PER_MINUTE`.',
    schema: { type: 'integer', minimum: 1, example: 600 },
  },
  'RateLimit-Remaining': {
    required: true,
    description: 'Requests left in the current window.',
    schema: { type: 'integer', minimum: 0, example: 0 },
  },
  'RateLimit-Reset': {
    required: true,
    description: 'Seconds until requests are allowed again.',
    schema: { type: 'integer', minimum: 0, example: 42 },
  },
} satisfies Record<string, HeaderObject>;

export type ResponseHeaderName = keyof typeof RESPONSE_HEADERS;

const RATE_LIMIT_HEADER_NAMES = ['RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset'] as const;
const WHILE_LIMITING = ' Sent while rate limiting is on (`RATE_LIMIT_ENABLED`).';

/**
 * The `RateLimit-*` headers on answers the rate limiter let through: the same values as on a 429,
 * except that `RateLimit-Reset` counts to the end of the current window, and sent only while
 * rate limiting is on.
 */
export const RATE_LIMIT_STATUS_HEADERS: Record<string, HeaderObject> = Object.fromEntries(
  RATE_LIMIT_HEADER_NAMES.map((name) => {
    const { description, schema } = RESPONSE_HEADERS[name];
    const text =
      name === 'RateLimit-Reset' ? 'Seconds until the current window ends and the count starts again.' : description;
    return [name, { required: false, description: text + WHILE_LIMITING, schema }];
  }),
);

export function headerRef(name: ResponseHeaderName): ReferenceObject {
  return { $ref: `#/components/headers/${name}` };
}

/** How one operation documents one kind of problem: what it means there, and a real answer's detail. */
export interface ProblemResponse {
  kind: ProblemKind;
  description: string;
  /** The example's detail (and field errors): a real answer of the service. */
  detail: string;
  errors?: ProblemFieldError[];
}

/**
 * The shared HTTP responses: the edge's refusals and the model's limits, the same on every
 * operation that answers them. A feature documents its own problems next to its controller, and
 * its own meaning of a shared status (the job routes' 413) there too.
 */
const SHARED_PROBLEM_RESPONSES = {
  400: {
    description: 'Malformed JSON body.',
    kind: PROBLEM.badRequest,
    detail: "Body is not valid JSON but content-type is set to 'application/json'",
  },
  401: {
    description:
      'API keys are configured (`API_KEYS`) and the request sent none, or one that is not valid, in ' +
      '`Authorization: Bearer <key>` or `X-API-Key`.',
    kind: PROBLEM.unauthorized,
    detail: UNAUTHORIZED_DETAIL,
  },
  413: {
    description:
      'Body larger than `MAX_BODY_BYTES` (`payload-too-large`), texts that need more model time than ' +
      '`REQUEST_TIMEOUT_MS` allows one request even on an idle service (`request-too-costly`), or with ' +
      '`long_text: "chunk"` texts that need more than `LONG_TEXT_MAX_WINDOWS_PER_REQUEST` windows together ' +
      '(`too-many-windows`, the detail gives the count): send them in smaller requests.',
    kind: PROBLEM.payloadTooLarge,
    detail: 'Request body is too large',
  },
  415: {
    description: 'Body not sent as `application/json`.',
    kind: PROBLEM.unsupportedMediaType,
    detail: 'Unsupported Media Type',
  },
  429: {
    description:
      'Over the rate limit (`RATE_LIMIT_PER_MINUTE` per API key, per client IP without keys; all replicas share it ' +
      'through Redis); retry after `Retry-After` seconds.',
    kind: PROBLEM.rateLimited,
    detail: RATE_LIMITED_DETAIL,
  },
  503: {
    description:
      'The service cannot take the request now; retry after `Retry-After` seconds. `type` ends with why: ' +
      '`model-not-ready` (still loading, or failed to load), `over-capacity` (the queued work would not let it finish ' +
      'within `REQUEST_TIMEOUT_MS`; `Retry-After` is the estimated excess), `queue-full` (`QUEUE_MAX_TOKENS`), ' +
      '`request-timeout` (`REQUEST_TIMEOUT_MS` passed) or `inference-failed`.',
    kind: PROBLEM.modelNotReady,
    detail: 'The model is still loading.',
  },
} satisfies Record<number, ProblemResponse>;

/** The statuses documented once for every operation that answers them. */
export type SharedProblemStatus = keyof typeof SHARED_PROBLEM_RESPONSES;

const RATE_LIMITED_HEADERS = {
  'Retry-After': headerRef('Retry-After'),
  ...Object.fromEntries(RATE_LIMIT_HEADER_NAMES.map((name) => [name, headerRef(name)])),
};

/** The headers a problem of each status always carries. */
const PROBLEM_HEADERS: Partial<Record<number, Record<string, ReferenceObject>>> = {
  401: { 'WWW-Authenticate': headerRef('WWW-Authenticate') },
  429: RATE_LIMITED_HEADERS,
  503: { 'Retry-After': headerRef('Retry-After') },
};

const EXAMPLE_REQUEST_ID = '5f0c6a8e-3b1d-4c2a-9e7f-1a2b3c4d5e6f';

/**
 * One operation's response for one kind of problem, as `application/problem+json` with the shared
 * `Problem` schema and a real example (`instance` = the operation's path).
 */
export function ApiProblemResponse(instance: string, response: ProblemResponse): MethodDecorator & ClassDecorator {
  const { kind, description, detail, errors } = response;
  const headers = PROBLEM_HEADERS[kind.status];
  return applyDecorators(
    ApiExtraModels(ProblemDto),
    ApiResponse({
      status: kind.status,
      description,
      ...(headers ? { headers } : {}),
      content: {
        [PROBLEM_CONTENT_TYPE]: {
          schema: { $ref: getSchemaPath(ProblemDto) },
          example: {
            type: kind.type,
            title: kind.title,
            status: kind.status,
            detail,
            ...(errors ? { errors } : {}),
            instance,
            requestId: EXAMPLE_REQUEST_ID,
          },
        },
      },
    }),
  );
}

/**
 * Documents the error responses of one operation: a shared status by its number, a problem of the
 * operation's own (or its own meaning of a shared status) by its {@link ProblemResponse}.
 */
export function ApiProblemResponses(
  instance: string,
  responses: readonly (SharedProblemStatus | ProblemResponse)[],
): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ...responses.map((response) =>
      ApiProblemResponse(instance, typeof response === 'number' ? SHARED_PROBLEM_RESPONSES[response] : response),
    ),
  );
}
