import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  Controller,
  Delete,
  Get,
  Headers,
  HttpCode,
  Inject,
  Param,
  Post,
  Req,
  Res,
  StreamableFile,
} from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBody,
  ApiConsumes,
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiProduces,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { apiKeyOf } from '../auth/api-key-credential.js';
import { ApiKeySecurity } from '../auth/api-key-security.js';
import { Protected } from '../auth/route-access.js';
import { tenantOf } from '../auth/tenant.js';
import { SETTINGS } from '../config/config.module.js';
import type { Settings } from '../config/settings.js';
import {
  ApiProblemResponses,
  RATE_LIMIT_STATUS_HEADERS,
  type ProblemResponse,
  type ProblemStatus,
} from '../http/openapi-responses.js';
import { JOBS_NEED_REDIS_DETAIL, JOBS_UNAVAILABLE_DETAIL } from '../http/problem-details.js';
import { ProblemError, problemType } from '../http/problem.js';
import { JobStatusDto, SubmittedJobDto, jobStatus } from './dto/job-status.dto.js';
import { JOBS } from './job-queue.js';
import { jobNotFound, type JobCaller, type JobsService } from './jobs.service.js';

export const NDJSON = 'application/x-ndjson';

const JOBS_UNAVAILABLE: ProblemResponse = {
  description:
    'The job store (Redis) is unreachable (`jobs-unavailable`), or on submission full: its jobs hold the share of ' +
    'its `maxmemory` jobs may use (`jobs-store-full`); retry after `Retry-After` seconds.',
  example: {
    type: problemType('jobs-unavailable'),
    title: 'Service Unavailable',
    status: 503,
    detail: JOBS_UNAVAILABLE_DETAIL,
  },
};

/** What the status, results and cancel routes' refusals mean, where the predict route's differ. */
const JOB_PROBLEMS: Partial<Record<ProblemStatus, ProblemResponse>> = { 503: JOBS_UNAVAILABLE };

/** What the submit route's refusals mean (not what they mean for the predict route). */
const SUBMIT_PROBLEMS: Partial<Record<ProblemStatus, ProblemResponse>> = {
  413: {
    description:
      'More than `JOB_MAX_TEXTS` texts or `JOB_MAX_BYTES` bytes (`payload-too-large`), or a job that alone would hold ' +
      'more than `JOB_STORED_BYTES_PER_KEY` in the job store (`job-quota-exceeded`); nothing was created.',
    example: {
      type: problemType('payload-too-large'),
      title: 'Payload Too Large',
      status: 413,
      detail: 'The body is larger than JOB_MAX_BYTES (1024 bytes). Nothing was created.',
    },
  },
  415: {
    description: 'Body not sent as `application/x-ndjson`.',
    example: {
      type: problemType('unsupported-media-type'),
      title: 'Unsupported Media Type',
      status: 415,
      detail: 'Send the job as application/x-ndjson.',
    },
  },
  422: {
    description:
      'A line that is not a JSON object with a `text` string of at most `MAX_TEXT_CHARS` characters (and an optional ' +
      '`id` string), or no line at all; the detail and `errors` name the first bad line (`validation`). An ' +
      'Idempotency-Key sent before with a different body (`idempotency-key-reused`). A malformed `Idempotency-Key` ' +
      'or `Job-Token`. Nothing was created.',
    example: {
      type: problemType('validation'),
      title: 'Unprocessable Content',
      status: 422,
      detail: 'Line 3 is not a valid job line; nothing was created.',
      errors: [{ path: 'line[3].text', message: 'must be a string (got number)' }],
    },
  },
  503: JOBS_UNAVAILABLE,
};
const JOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,256}$/;
/** At least 32 characters: a token is the only thing between a job and anyone who can reach the API. */
const JOB_TOKEN = /^[\x21-\x7e]{32,256}$/;
const JOB_TOKEN_HEADER = 'job-token';

/** The header every job route reads without API keys. */
const JOB_TOKEN_DOC = {
  name: 'Job-Token',
  required: false,
  description:
    'Only without API keys (where it is required): the job token its submission answered (`jobToken`) or sent. ' +
    'Ignored when the service has API keys (jobs then belong to the key).',
};

@ApiTags('jobs')
@ApiKeySecurity()
@Protected({ realm: 'sentiment-api', rateLimited: true })
@Controller('v1/sentiment/jobs')
export class JobsController {
  constructor(
    @Inject(JOBS) private readonly jobs: JobsService | null,
    @Inject(SETTINGS) private readonly settings: Settings,
  ) {}

  @Post()
  @HttpCode(202)
  @ApiOperation({
    operationId: 'submitJob',
    summary: 'Submit a bulk scoring job',
    description:
      'The body is NDJSON: one `{"text": "...", "id": "..."}` object per line (`id` optional, echoed in the ' +
      'results), validated line by line as it streams in, up to `JOB_MAX_TEXTS` texts and `JOB_MAX_BYTES` bytes. ' +
      'A bad line refuses the whole job (nothing is created) with its line number. Texts are answered by every ' +
      "replica's workers at a lower priority than interactive requests. With `Idempotency-Key`, a retried " +
      'submission answers the job the key named before (for `JOB_RESULT_TTL_SECONDS`). Needs Redis (`JOBS_REDIS_URL`, or `REDIS_URL`).',
  })
  @ApiConsumes(NDJSON)
  @ApiBody({
    description: 'NDJSON, one object per line.',
    schema: { type: 'string', example: '{"text": "I love it", "id": "r1"}\n{"text": "Terrible service"}\n' },
  })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description:
      'Any 1–256 printable characters. The same key with the same body (for this API key, or without API keys ' +
      'this Job-Token) answers the same job; with another body, 422 `idempotency-key-reused`.',
  })
  @ApiHeader({
    name: 'Job-Token',
    required: false,
    description:
      'Only without API keys: a secret of 32–256 printable characters that the job will belong to (status, results ' +
      'and cancel need it); unset, the service makes one and answers it as `jobToken`. Needed with Idempotency-Key. ' +
      'Ignored when the service has API keys.',
  })
  @ApiAcceptedResponse({
    description: 'The job, queued; `Location` is its status URL.',
    type: SubmittedJobDto,
    headers: {
      Location: { description: 'The job status URL.', schema: { type: 'string' } },
      ...RATE_LIMIT_STATUS_HEADERS,
    },
  })
  @ApiProblemResponses('/v1/sentiment/jobs', [401, 409, 413, 415, 422, 429, 501, 503], SUBMIT_PROBLEMS)
  async submit(
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Headers('idempotency-key') idempotencyKey?: string,
  ): Promise<SubmittedJobDto> {
    const jobs = this.available();
    const body = request.body;
    if (!(body instanceof Readable)) {
      throw new ProblemError(415, 'unsupported-media-type', 'Unsupported Media Type', `Send the job as ${NDJSON}.`);
    }
    const declared = Number(request.headers['content-length']);
    if (declared > this.settings.jobs.maxBytes) {
      throw new ProblemError(
        413,
        'payload-too-large',
        'Payload Too Large',
        `The body is larger than JOB_MAX_BYTES (${this.settings.jobs.maxBytes} bytes). Nothing was created.`,
      );
    }
    if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
      throw new ProblemError(422, 'validation', 'Unprocessable Content', 'Idempotency-Key is not valid.', [
        { path: 'Idempotency-Key', message: 'must be 1 to 256 printable characters' },
      ]);
    }
    const caller = this.submitter(request, idempotencyKey !== undefined);
    const { job } = await jobs.submit(caller, body, idempotencyKey);
    void reply.header('Location', `/v1/sentiment/jobs/${job.id}`);
    return { ...jobStatus(job), ...(caller.mintedToken ? { jobToken: caller.mintedToken } : {}) };
  }

  @Get(':id')
  @ApiOperation({
    operationId: 'getJob',
    summary: "A job's state and progress",
    description: 'Texts done of the total, cache hits, start and end times, and why it failed if it did.',
  })
  @ApiParam({ name: 'id', description: 'The job id.', schema: { type: 'string', format: 'uuid' } })
  @ApiHeader(JOB_TOKEN_DOC)
  @ApiOkResponse({ description: 'The job.', type: JobStatusDto, headers: RATE_LIMIT_STATUS_HEADERS })
  @ApiProblemResponses('/v1/sentiment/jobs/{id}', [401, 404, 429, 501, 503], JOB_PROBLEMS)
  async status(@Param('id') id: string, @Req() request: FastifyRequest): Promise<JobStatusDto> {
    return jobStatus(await this.available().get(this.caller(request), validId(id)));
  }

  @Get(':id/results')
  @ApiOperation({
    operationId: 'getJobResults',
    summary: "A job's results, as NDJSON in input order",
    description:
      'One line per text, in input order: `{"line": <its line in the submission>, "id": <its id, when given>, ' +
      '"predictions": [{label, score}, ...]}`. While the job runs, the lines of the texts finished so far in ' +
      'order (a prefix); complete once the job is `completed`.',
  })
  @ApiParam({ name: 'id', description: 'The job id.', schema: { type: 'string', format: 'uuid' } })
  @ApiHeader(JOB_TOKEN_DOC)
  @ApiProduces(NDJSON)
  @ApiOkResponse({
    description: 'NDJSON result lines.',
    schema: {
      type: 'string',
      example:
        '{"line":1,"id":"r1","predictions":[{"label":"POSITIVE","score":0.98},{"label":"NEGATIVE","score":0.02}]}\n',
    },
    headers: RATE_LIMIT_STATUS_HEADERS,
  })
  @ApiProblemResponses('/v1/sentiment/jobs/{id}/results', [401, 404, 429, 501, 503], JOB_PROBLEMS)
  async results(@Param('id') id: string, @Req() request: FastifyRequest): Promise<StreamableFile> {
    const blocks = await this.available().results(this.caller(request), validId(id));
    return new StreamableFile(Readable.from(blocks), { type: NDJSON });
  }

  @Delete(':id')
  @ApiOperation({
    operationId: 'cancelJob',
    summary: 'Cancel a job',
    description:
      'Its waiting chunks leave the queue and its stored results are deleted; a job that has ended is left as it is.',
  })
  @ApiParam({ name: 'id', description: 'The job id.', schema: { type: 'string', format: 'uuid' } })
  @ApiHeader(JOB_TOKEN_DOC)
  @ApiOkResponse({ description: 'The job after cancelling.', type: JobStatusDto, headers: RATE_LIMIT_STATUS_HEADERS })
  @ApiProblemResponses('/v1/sentiment/jobs/{id}', [401, 404, 429, 501, 503], JOB_PROBLEMS)
  async cancel(@Param('id') id: string, @Req() request: FastifyRequest): Promise<JobStatusDto> {
    return jobStatus(await this.available().cancel(this.caller(request), validId(id)));
  }

  private available(): JobsService {
    if (!this.jobs) throw new ProblemError(501, 'jobs-need-redis', 'Not Implemented', JOBS_NEED_REDIS_DETAIL);
    return this.jobs;
  }

  /**
   * Jobs belong to the API key's identity whatever the cache scope. Without API keys, to the job
   * token: a secret the submission sends or is answered, without which nobody reads, cancels or
   * (through an Idempotency-Key) takes over the job, however its id or key became known.
   */
  private caller(request: FastifyRequest): JobCaller {
    if (this.settings.apiKeys.length === 0) {
      const token = request.headers[JOB_TOKEN_HEADER];
      // A missing or malformed token owns nothing: the job is as absent as one that never existed.
      if (typeof token !== 'string' || !JOB_TOKEN.test(token)) throw jobNotFound();
      return { owner: tokenOwner(token), account: ANONYMOUS_ACCOUNT };
    }
    const apiKey = apiKeyOf(request.headers);
    const identity = tenantOf(apiKey, { ...this.settings, cacheScope: 'tenant' })!;
    return { owner: identity, account: identity, cacheTenant: tenantOf(apiKey, this.settings) };
  }

  /** The submitting caller; without API keys, the token sent or a new one (answered once). */
  private submitter(request: FastifyRequest, idempotent: boolean): JobCaller & { mintedToken?: string } {
    if (this.settings.apiKeys.length > 0) return this.caller(request);
    const sent = request.headers[JOB_TOKEN_HEADER];
    if (sent !== undefined) {
      if (typeof sent !== 'string' || !JOB_TOKEN.test(sent)) {
        throw new ProblemError(422, 'validation', 'Unprocessable Content', 'Job-Token is not valid.', [
          { path: 'Job-Token', message: 'must be 32 to 256 printable characters' },
        ]);
      }
      return { owner: tokenOwner(sent), account: ANONYMOUS_ACCOUNT };
    }
    if (idempotent) {
      // A key scoped to nobody would name whoever's job first used it.
      throw new ProblemError(422, 'validation', 'Unprocessable Content', 'Idempotency-Key needs a Job-Token.', [
        { path: 'Job-Token', message: 'required with Idempotency-Key when the service has no API keys' },
      ]);
    }
    const minted = randomBytes(JOB_TOKEN_BYTES).toString('base64url');
    return { owner: tokenOwner(minted), account: ANONYMOUS_ACCOUNT, mintedToken: minted };
  }
}

/** Without API keys every caller shares one quota and one place in the queue: tokens are free to make. */
const ANONYMOUS_ACCOUNT = 'anonymous';

/** 256 random bits for a token the service makes. */
const JOB_TOKEN_BYTES = 32;

/** The owner a job token stands for: its digest (the token itself is never stored). */
function tokenOwner(token: string): string {
  return `token:${createHash('sha256').update(token).digest('hex')}`;
}

function validId(id: string): string {
  if (!JOB_ID.test(id)) throw jobNotFound();
  return id;
}
