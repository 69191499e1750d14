import { applyDecorators } from '@nestjs/common';
import { ApiExtraModels, ApiResponse, getSchemaPath, type HeaderObject, type ReferenceObject } from '@nestjs/swagger';
import { JOBS_NEED_REDIS_DETAIL, RATE_LIMITED_DETAIL, UNAUTHORIZED_DETAIL } from './problem-details.js';
import { PROBLEM_CONTENT_TYPE, problemType, type Problem } from './problem.js';
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

/** Error statuses of the design's table that operations can answer. */
export type ProblemStatus = 400 | 401 | 404 | 409 | 413 | 415 | 422 | 429 | 501 | 503;

export interface ProblemResponse {
  description: string;
  /** A real answer of the service, minus the per-request fields. */
  example: Omit<Problem, 'instance' | 'requestId'>;
}

const PROBLEM_RESPONSES: Record<ProblemStatus, ProblemResponse> = {
  400: {
    description: 'Malformed JSON body.',
    example: {
      type: problemType('bad-request'),
      title: 'Bad Request',
      status: 400,
      detail: "Body is not valid JSON but content-type is set to 'application/json'",
    },
  },
  401: {
    description:
      'API keys are configured (`API_KEYS`) and the request sent none, or one that is not valid, in ' +
      '`Authorization: Bearer <key>` or `X-API-Key`.',
    example: {
      type: problemType('unauthorized'),
      title: 'Unauthorized',
      status: 401,
      detail: UNAUTHORIZED_DETAIL,
    },
  },
  404: {
    description:
      'No job with this id belongs to the caller: its API key, or without API keys its `Job-Token` (another caller’s ' +
      'jobs are not found either).',
    example: {
      type: problemType('job-not-found'),
      title: 'Not Found',
      status: 404,
      detail: 'No job with this id belongs to this caller (its API key, or without API keys its Job-Token).',
    },
  },
  409: {
    description:
      'The caller’s unexpired jobs (per API key; without API keys, all callers’ together) would hold more than ' +
      '`JOB_STORED_BYTES_PER_KEY` bytes of texts and results; cancel a job or retry after `Retry-After` seconds, ' +
      'when the oldest expires. Nothing was created.',
    example: {
      type: problemType('job-quota-exceeded'),
      title: 'Conflict',
      status: 409,
      detail:
        "This caller's unexpired jobs would hold more than JOB_STORED_BYTES_PER_KEY (4096 bytes of texts and " +
        'results); cancel a job or retry after `Retry-After` seconds. Nothing was created.',
    },
  },
  413: {
    description:
      'Body larger than `MAX_BODY_BYTES` (`payload-too-large`), or texts that need more model time than ' +
      '`REQUEST_TIMEOUT_MS` allows one request even on an idle service (`request-too-costly`): send them in smaller requests.',
    example: {
      type: problemType('payload-too-large'),
      title: 'Payload Too Large',
      status: 413,
      detail: 'Request body is too large',
    },
  },
  415: {
    description: 'Body not sent as `application/json`.',
    example: {
      type: problemType('unsupported-media-type'),
      title: 'Unsupported Media Type',
      status: 415,
      detail: 'Unsupported Media Type',
    },
  },
  422: {
    description:
      'Invalid body: `text` missing, not an array, empty or longer than `MAX_BATCH_SIZE`; an item not a string or ' +
      'longer than `MAX_TEXT_CHARS`; an unknown field. `errors` names every invalid path.',
    example: {
      type: problemType('validation'),
      title: 'Unprocessable Content',
      status: 422,
      detail: 'The request body is not a valid predict request.',
      errors: [{ path: 'text', message: 'must contain at least 1 text' }],
    },
  },
  429: {
    description:
      'Over the rate limit (`RATE_LIMIT_PER_MINUTE` per API key, per client IP without keys; all replicas share it ' +
      'through Redis); retry after `Retry-After` seconds.',
    example: {
      type: problemType('rate-limited'),
      title: 'Too Many Requests',
      status: 429,
      detail: RATE_LIMITED_DETAIL,
    },
  },
  501: {
    description: 'Jobs need Redis (`REDIS_URL`); this deployment runs without it.',
    example: {
      type: problemType('jobs-need-redis'),
      title: 'Not Implemented',
      status: 501,
      detail: JOBS_NEED_REDIS_DETAIL,
    },
  },
  503: {
    description:
      'The service cannot take the request now; retry after `Retry-After` seconds. `type` ends with why: ' +
      '`model-not-ready` (still loading, or failed to load), `over-capacity` (the queued work would not let it finish ' +
      'within `REQUEST_TIMEOUT_MS`; `Retry-After` is the estimated excess), `queue-full` (`QUEUE_MAX_TOKENS`), ' +
      '`request-timeout` (`REQUEST_TIMEOUT_MS` passed) or `inference-failed`.',
    example: {
      type: problemType('model-not-ready'),
      title: 'Service Unavailable',
      status: 503,
      detail: 'The model is still loading.',
    },
  },
};

const RATE_LIMITED_HEADERS = {
  'Retry-After': headerRef('Retry-After'),
  ...Object.fromEntries(RATE_LIMIT_HEADER_NAMES.map((name) => [name, headerRef(name)])),
};

const EXAMPLE_REQUEST_ID = '5f0c6a8e-3b1d-4c2a-9e7f-1a2b3c4d5e6f';

/**
 * Documents the given error statuses of one operation as `application/problem+json` with the
 * shared `Problem` schema and a real example (`instance` = the operation's path); `specific`
 * replaces the shared text and example of a status whose meaning differs for this operation.
 */
export function ApiProblemResponses(
  instance: string,
  statuses: ProblemStatus[],
  specific: Partial<Record<ProblemStatus, ProblemResponse>> = {},
): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ApiExtraModels(ProblemDto),
    ...statuses.map((status) => {
      const { description, example } = specific[status] ?? PROBLEM_RESPONSES[status];
      return ApiResponse({
        status,
        description,
        ...(status === 503 ? { headers: { 'Retry-After': headerRef('Retry-After') } } : {}),
        ...(status === 401 ? { headers: { 'WWW-Authenticate': headerRef('WWW-Authenticate') } } : {}),
        ...(status === 429 ? { headers: RATE_LIMITED_HEADERS } : {}),
        content: {
          [PROBLEM_CONTENT_TYPE]: {
            schema: { $ref: getSchemaPath(ProblemDto) },
            example: { ...example, instance, requestId: EXAMPLE_REQUEST_ID },
          },
        },
      });
    }),
  );
}
