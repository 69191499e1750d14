import { applyDecorators } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBody,
  ApiConsumes,
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiProduces,
  ApiQuery,
} from '@nestjs/swagger';
import { ApiProblemResponses, RATE_LIMIT_STATUS_HEADERS, type ProblemResponse } from '../http/openapi-responses.js';
import { PROBLEM } from '../http/problem-catalogue.js';
import { LONG_TEXT_MODES } from '../inference/long-text.js';
import { JobStatusDto, SubmittedJobDto } from './dto/job-status.dto.js';
import {
  accountOverQuotaDetail,
  JOB_NOT_FOUND_DETAIL,
  JOB_PROBLEM,
  JOBS_NEED_REDIS_DETAIL,
  JOBS_UNAVAILABLE_DETAIL,
} from './job-problems.js';

/** The job routes' OpenAPI: one composed decorator per route, and the problems only jobs answer. */

export const NDJSON = 'application/x-ndjson';

const JOB_PATH = '/v1/sentiment/jobs';
const ONE_JOB_PATH = '/v1/sentiment/jobs/{id}';

const JOB_NOT_FOUND: ProblemResponse = {
  kind: JOB_PROBLEM.notFound,
  description:
    'No job with this id belongs to the caller: its API key, or without API keys its `Job-Token` (another caller’s ' +
    'jobs are not found either).',
  detail: JOB_NOT_FOUND_DETAIL,
};

const JOBS_NEED_REDIS: ProblemResponse = {
  kind: JOB_PROBLEM.needRedis,
  description: 'Jobs need Redis (`REDIS_URL`); this deployment runs without it.',
  detail: JOBS_NEED_REDIS_DETAIL,
};

const JOBS_UNAVAILABLE: ProblemResponse = {
  kind: JOB_PROBLEM.unavailable,
  description:
    'The job store (Redis) is unreachable (`jobs-unavailable`), or on submission full: its jobs hold the share of ' +
    'its `maxmemory` jobs may use (`jobs-store-full`); retry after `Retry-After` seconds.',
  detail: JOBS_UNAVAILABLE_DETAIL,
};

/** What the submit route's refusals mean (not what they mean for the predict route). */
const SUBMIT_PROBLEMS: readonly ProblemResponse[] = [
  {
    kind: JOB_PROBLEM.accountOverQuota,
    description:
      'The caller’s unexpired jobs (per API key; without API keys, all callers’ together) would hold more than ' +
      '`JOB_STORED_BYTES_PER_KEY` bytes of texts and results with this one, which alone fits (a job that does not ' +
      'is 413); cancel a job or retry after `Retry-After` seconds, when the oldest expires. Nothing was created.',
    detail: accountOverQuotaDetail(4096),
  },
  {
    kind: PROBLEM.payloadTooLarge,
    description:
      'More than `JOB_MAX_TEXTS` texts or `JOB_MAX_BYTES` bytes (`payload-too-large`), or a job that alone would hold ' +
      'more than `JOB_STORED_BYTES_PER_KEY` in the job store (`job-quota-exceeded`); nothing was created.',
    detail: 'The body is larger than JOB_MAX_BYTES (1024 bytes). Nothing was created.',
  },
  {
    kind: PROBLEM.unsupportedMediaType,
    description: 'Body not sent as `application/x-ndjson`.',
    detail: `Send the job as ${NDJSON}.`,
  },
  {
    kind: PROBLEM.validation,
    description:
      'A line that is not a JSON object with a `text` string of at most `MAX_TEXT_CHARS` characters (and an optional ' +
      '`id` string), or no line at all; the detail and `errors` name the first bad line (`validation`). A ' +
      '`long_text` other than `truncate` or `chunk` (`validation`). An ' +
      'Idempotency-Key sent before with a different body (`idempotency-key-reused`). A malformed `Idempotency-Key` ' +
      'or `Job-Token`. Nothing was created.',
    detail: 'Line 3 is not a valid job line; nothing was created.',
    errors: [{ path: 'line[3].text', message: 'must be a string (got number)' }],
  },
];

/** The header every job route reads without API keys. */
const JOB_TOKEN_DOC = {
  name: 'Job-Token',
  required: false,
  description:
    'Only without API keys (where it is required): the job token its submission answered (`jobToken`) or sent. ' +
    'Ignored when the service has API keys (jobs then belong to the key).',
};

const JOB_ID_DOC = { name: 'id', description: 'The job id.', schema: { type: 'string' as const, format: 'uuid' } };

/** The problems of the routes on one job: status, results and cancel. */
function OneJobProblems(path: string) {
  return ApiProblemResponses(path, [401, JOB_NOT_FOUND, 429, JOBS_NEED_REDIS, JOBS_UNAVAILABLE]);
}

export function SubmitJobDocs() {
  return applyDecorators(
    ApiOperation({
      operationId: 'submitJob',
      summary: 'Submit a bulk scoring job',
      description:
        'The body is NDJSON: one `{"text": "...", "id": "..."}` object per line (`id` optional, echoed in the ' +
        'results), validated line by line as it streams in, up to `JOB_MAX_TEXTS` texts and `JOB_MAX_BYTES` bytes. ' +
        'A bad line refuses the whole job (nothing is created) with its line number. Texts are answered by every ' +
        "replica's workers at a lower priority than interactive requests. With `Idempotency-Key`, a retried " +
        'submission answers the job the key named before (for `JOB_RESULT_TTL_SECONDS`). Needs Redis (`JOBS_REDIS_URL`, or `REDIS_URL`).',
    }),
    ApiConsumes(NDJSON),
    ApiBody({
      description: 'NDJSON, one object per line.',
      schema: { type: 'string', example: '{"text": "I love it", "id": "r1"}\n{"text": "Terrible service"}\n' },
    }),
    ApiQuery({
      name: 'long_text',
      required: false,
      enum: LONG_TEXT_MODES,
      description:
        'How every text of the job longer than the model’s maximum is read, as the predict route’s `long_text`: ' +
        '`truncate` (default) cuts it, `chunk` reads it whole in overlapping windows. A text needing more than ' +
        '`LONG_TEXT_MAX_WINDOWS` windows fails the job; there is no per-request window limit for jobs.',
    }),
    ApiHeader({
      name: 'Job-Token',
      required: false,
      description:
        'Only without API keys: a secret of 32–256 printable characters that the job will belong to (status, results ' +
        'and cancel need it); unset, the service makes one and answers it as `jobToken`. Needed with Idempotency-Key. ' +
        'Ignored when the service has API keys.',
    }),
    ApiHeader({
      name: 'Idempotency-Key',
      required: false,
      description:
        'Any 1–256 printable characters. The same key with the same body and `long_text` (for this API key, or ' +
        'without API keys this Job-Token) answers the same job; with another body or `long_text`, 422 ' +
        '`idempotency-key-reused`.',
    }),
    ApiAcceptedResponse({
      description: 'The job, queued; `Location` is its status URL.',
      type: SubmittedJobDto,
      headers: {
        Location: { description: 'The job status URL.', schema: { type: 'string' } },
        ...RATE_LIMIT_STATUS_HEADERS,
      },
    }),
    ApiProblemResponses(JOB_PATH, [401, ...SUBMIT_PROBLEMS, 429, JOBS_NEED_REDIS, JOBS_UNAVAILABLE]),
  );
}

export function GetJobDocs() {
  return applyDecorators(
    ApiOperation({
      operationId: 'getJob',
      summary: "A job's state and progress",
      description: 'Texts done of the total, cache hits, start and end times, and why it failed if it did.',
    }),
    ApiParam(JOB_ID_DOC),
    ApiHeader(JOB_TOKEN_DOC),
    ApiOkResponse({ description: 'The job.', type: JobStatusDto, headers: RATE_LIMIT_STATUS_HEADERS }),
    OneJobProblems(ONE_JOB_PATH),
  );
}

export function GetJobResultsDocs() {
  return applyDecorators(
    ApiOperation({
      operationId: 'getJobResults',
      summary: "A job's results, as NDJSON in input order",
      description:
        'One line per text, in input order: `{"line": <its line in the submission>, "id": <its id, when given>, ' +
        '"predictions": [{label, score}, ...]}`. While the job runs, the lines of the texts finished so far in ' +
        'order (a prefix); complete once the job is `completed`.',
    }),
    ApiParam(JOB_ID_DOC),
    ApiHeader(JOB_TOKEN_DOC),
    ApiProduces(NDJSON),
    ApiOkResponse({
      description: 'NDJSON result lines.',
      schema: {
        type: 'string',
        example:
          '{"line":1,"id":"r1","predictions":[{"label":"POSITIVE","score":0.98},{"label":"NEGATIVE","score":0.02}]}\n',
      },
      headers: RATE_LIMIT_STATUS_HEADERS,
    }),
    OneJobProblems(`${ONE_JOB_PATH}/results`),
  );
}

export function CancelJobDocs() {
  return applyDecorators(
    ApiOperation({
      operationId: 'cancelJob',
      summary: 'Cancel a job',
      description:
        'Its waiting chunks leave the queue and its stored results are deleted; a job that has ended is left as it is.',
    }),
    ApiParam(JOB_ID_DOC),
    ApiHeader(JOB_TOKEN_DOC),
    ApiOkResponse({ description: 'The job after cancelling.', type: JobStatusDto, headers: RATE_LIMIT_STATUS_HEADERS }),
    OneJobProblems(ONE_JOB_PATH),
  );
}
