/** The BullMQ queue of job chunks, shared by every replica through Redis. */
export const JOB_CHUNK_QUEUE = 'sentiment-job-chunks';
/**
 * BullMQ's key prefix, a Redis Cluster hash tag: BullMQ's scripts touch several keys of a queue at
 * once, which a cluster runs only when they are in one slot (so the queue lives on one master).
 */
export const JOB_QUEUE_PREFIX = '{bull}';

/** What a queued chunk carries: which job and which of its chunks (the texts stay in the job store). */
export interface ChunkData {
  jobId: string;
  chunk: number;
  /** The submission's span (W3C `traceparent`) when it was traced: the chunk's span links to it. */
  traceparent?: string;
}

/** BullMQ ids are ours, so a chunk can be found (and removed on cancel) without a lookup. */
export function chunkJobId(jobId: string, chunk: number): string {
  return `${jobId}_${chunk}`;
}

/** Tries per chunk: a failed model call is retried with backoff before its job fails. */
export const CHUNK_ATTEMPTS = 6;
export const CHUNK_BACKOFF_MS = 1000;

/** Where the stores are: the job store and queue share Redis, the jobs module provides both. */
export const JOB_STORE = Symbol('JOB_STORE');
/** The {@link JobsService}, or null without JOBS_REDIS_URL and REDIS_URL (jobs are then refused). */
export const JOBS = Symbol('JOBS');
