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
  Query,
  Req,
  Res,
  StreamableFile,
} from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiKeySecurity } from '../auth/api-key-security.js';
import { CurrentCaller } from '../auth/caller.js';
import { Protected } from '../auth/route-access.js';
import type { Caller } from '../common/caller.js';
import { SETTINGS } from '../config/config.module.js';
import type { Settings } from '../config/settings.js';
import { PROBLEM } from '../http/problem-catalogue.js';
import { ProblemError } from '../http/problem.js';
import { JobStatusDto, SubmittedJobDto, jobStatus } from './dto/job-status.dto.js';
import { LONG_TEXT_MODES, type LongTextMode } from '../inference/long-text.js';
import { JOB_PROBLEM, JOBS_NEED_REDIS_DETAIL } from './job-problems.js';
import { JOBS } from './job-queue.js';
import { CancelJobDocs, GetJobDocs, GetJobResultsDocs, NDJSON, SubmitJobDocs } from './jobs.openapi.js';
import { jobNotFound, type JobCaller, type JobOptions, type JobsService } from './jobs.service.js';

const JOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,256}$/;
/** At least 32 characters: a token is the only thing between a job and anyone who can reach the API. */
const JOB_TOKEN = /^[\x21-\x7e]{32,256}$/;
const JOB_TOKEN_HEADER = 'job-token';

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
  @SubmitJobDocs()
  async submit(
    @CurrentCaller() caller: Caller,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Headers('idempotency-key') idempotencyKey?: string,
    @Query('long_text') longText?: string,
  ): Promise<SubmittedJobDto> {
    const jobs = this.available();
    const body = request.body;
    if (!(body instanceof Readable)) {
      throw new ProblemError(PROBLEM.unsupportedMediaType, `Send the job as ${NDJSON}.`);
    }
    const declared = Number(request.headers['content-length']);
    if (declared > this.settings.jobs.maxBytes) {
      throw new ProblemError(
        PROBLEM.payloadTooLarge,
        `The body is larger than JOB_MAX_BYTES (${this.settings.jobs.maxBytes} bytes). Nothing was created.`,
      );
    }
    if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
      throw new ProblemError(PROBLEM.validation, 'Idempotency-Key is not valid.', {
        errors: [{ path: 'Idempotency-Key', message: 'must be 1 to 256 printable characters' }],
      });
    }
    const options = jobOptions(longText);
    const submitter = this.submitter(caller, request, idempotencyKey !== undefined);
    const { job } = await jobs.submit(submitter, body, idempotencyKey, options);
    void reply.header('Location', `/v1/sentiment/jobs/${job.id}`);
    return { ...jobStatus(job), ...(submitter.mintedToken ? { jobToken: submitter.mintedToken } : {}) };
  }

  @Get(':id')
  @GetJobDocs()
  async status(
    @Param('id') id: string,
    @CurrentCaller() caller: Caller,
    @Req() request: FastifyRequest,
  ): Promise<JobStatusDto> {
    return jobStatus(await this.available().get(this.owner(caller, request), validId(id)));
  }

  @Get(':id/results')
  @GetJobResultsDocs()
  async results(
    @Param('id') id: string,
    @CurrentCaller() caller: Caller,
    @Req() request: FastifyRequest,
  ): Promise<StreamableFile> {
    const blocks = await this.available().results(this.owner(caller, request), validId(id));
    return new StreamableFile(Readable.from(blocks), { type: NDJSON });
  }

  @Delete(':id')
  @CancelJobDocs()
  async cancel(
    @Param('id') id: string,
    @CurrentCaller() caller: Caller,
    @Req() request: FastifyRequest,
  ): Promise<JobStatusDto> {
    return jobStatus(await this.available().cancel(this.owner(caller, request), validId(id)));
  }

  private available(): JobsService {
    if (!this.jobs) throw new ProblemError(JOB_PROBLEM.needRedis, JOBS_NEED_REDIS_DETAIL);
    return this.jobs;
  }

  /**
   * Jobs belong to the API key's identity whatever the cache scope. Without API keys, to the job
   * token: a secret the submission sends or is answered, without which nobody reads, cancels or
   * (through an Idempotency-Key) takes over the job, however its id or key became known.
   */
  private owner(caller: Caller, request: FastifyRequest): JobCaller {
    if (this.settings.apiKeys.length === 0) {
      const token = request.headers[JOB_TOKEN_HEADER];
      // A missing or malformed token owns nothing: the job is as absent as one that never existed.
      if (typeof token !== 'string' || !JOB_TOKEN.test(token)) throw jobNotFound();
      return { owner: tokenOwner(token), account: ANONYMOUS_ACCOUNT };
    }
    const identity = caller.identity!;
    return { owner: identity, account: identity, cacheTenant: caller.cacheScope };
  }

  /** The submitting caller; without API keys, the token sent or a new one (answered once). */
  private submitter(
    caller: Caller,
    request: FastifyRequest,
    idempotent: boolean,
  ): JobCaller & { mintedToken?: string } {
    if (this.settings.apiKeys.length > 0) return this.owner(caller, request);
    const sent = request.headers[JOB_TOKEN_HEADER];
    if (sent !== undefined) {
      if (typeof sent !== 'string' || !JOB_TOKEN.test(sent)) {
        throw new ProblemError(PROBLEM.validation, 'Job-Token is not valid.', {
          errors: [{ path: 'Job-Token', message: 'must be 32 to 256 printable characters' }],
        });
      }
      return { owner: tokenOwner(sent), account: ANONYMOUS_ACCOUNT };
    }
    if (idempotent) {
      // A key scoped to nobody would name whoever's job first used it.
      throw new ProblemError(PROBLEM.validation, 'Idempotency-Key needs a Job-Token.', {
        errors: [{ path: 'Job-Token', message: 'required with Idempotency-Key when the service has no API keys' }],
      });
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

/** The job's options from the submission's query (before its body is read). */
function jobOptions(longText: string | undefined): JobOptions {
  if (longText === undefined) return { longText: 'truncate' };
  if (!(LONG_TEXT_MODES as readonly string[]).includes(longText)) {
    throw new ProblemError(PROBLEM.validation, 'long_text is not valid.', {
      errors: [{ path: 'long_text', message: `must be one of ${LONG_TEXT_MODES.join(', ')}` }],
    });
  }
  return { longText: longText as LongTextMode };
}

function validId(id: string): string {
  if (!JOB_ID.test(id)) throw jobNotFound();
  return id;
}
