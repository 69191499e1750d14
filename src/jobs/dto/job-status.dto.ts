import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import type { JobRecord, JobState } from '../job-store.js';

const JOB_STATES: JobState[] = ['queued', 'running', 'completed', 'failed', 'cancelled'];

@ApiSchema({ name: 'JobStatus', description: 'A bulk scoring job: its state and progress.' })
export class JobStatusDto {
  @ApiProperty({ description: 'The job id.', format: 'uuid', example: '0b8e5a3c-6f1d-4e2a-9c7b-5d4e3f2a1b0c' })
  id!: string;

  @ApiProperty({
    description:
      '`queued` until a worker starts a chunk, then `running`; ends `completed` (every text answered), `failed` ' +
      '(a chunk failed on every try; see `error`) or `cancelled`.',
    enum: JOB_STATES,
    example: 'running',
  })
  state!: JobState;

  @ApiProperty({ type: 'integer', description: 'Texts (non-empty lines) submitted.', example: 20000 })
  textsTotal!: number;

  @ApiProperty({ type: 'integer', description: 'Texts answered so far.', example: 5120 })
  textsDone!: number;

  @ApiProperty({ type: 'integer', description: 'Distinct texts answered from the prediction cache.', example: 312 })
  cacheHits!: number;

  @ApiProperty({ description: 'When the job was submitted.', format: 'date-time' })
  createdAt!: string;

  @ApiPropertyOptional({ description: 'When a worker started its first chunk.', format: 'date-time' })
  startedAt?: string;

  @ApiPropertyOptional({ description: 'When it completed, failed or was cancelled.', format: 'date-time' })
  finishedAt?: string;

  @ApiPropertyOptional({ description: 'Why it failed.', example: 'chunk 3 failed 6 times: model worker crashed' })
  error?: string;

  @ApiPropertyOptional({
    description: 'Only for a job submitted with `long_text=chunk`: its long texts are read whole, in windows.',
    enum: ['chunk'],
  })
  longText?: 'chunk';
}

@ApiSchema({
  name: 'SubmittedJob',
  description: 'A bulk scoring job just submitted; without API keys, with the token it belongs to.',
})
export class SubmittedJobDto extends JobStatusDto {
  @ApiPropertyOptional({
    description:
      'Only without API keys, when the submission sent no `Job-Token`: the secret this job belongs to. Status, ' +
      'results and cancel need it as the `Job-Token` header. Keep it: it is not shown again.',
    example: 'q0bXqg4v2oZ8tQy1N3rJ6Wc5uE7hK9aLsDfGpV0xYzA',
  })
  jobToken?: string;
}

export function jobStatus(job: JobRecord): JobStatusDto {
  const iso = (ms?: number) => (ms === undefined ? undefined : new Date(ms).toISOString());
  const status: JobStatusDto = {
    id: job.id,
    state: job.state,
    textsTotal: job.total,
    textsDone: job.done,
    cacheHits: job.cacheHits,
    createdAt: iso(job.createdAt)!,
  };
  if (job.startedAt !== undefined) status.startedAt = iso(job.startedAt);
  if (job.finishedAt !== undefined) status.finishedAt = iso(job.finishedAt);
  if (job.error !== undefined) status.error = job.error;
  if (job.longText === 'chunk') status.longText = 'chunk';
  return status;
}
