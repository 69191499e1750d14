import { problemKind } from '../http/problem-catalogue.js';

/**
 * The job routes' own kinds of problem, beside the shared ones (`PROBLEM`: validation, sizes, the
 * edge's): what the service throws and what jobs.openapi.ts documents.
 */
export const JOB_PROBLEM = {
  notFound: problemKind(404, 'job-not-found'),
  /** The caller's jobs together would hold more than their quota: a retry may fit once one expires. */
  accountOverQuota: problemKind(409, 'job-quota-exceeded'),
  /** This job alone would hold more than the quota: it never fits. */
  jobOverQuota: problemKind(413, 'job-quota-exceeded'),
  idempotencyKeyReused: problemKind(422, 'idempotency-key-reused'),
  needRedis: problemKind(501, 'jobs-need-redis'),
  /** Answered for an UnavailableError whose reason is this slug (the store unreachable, or refused). */
  unavailable: problemKind(503, 'jobs-unavailable'),
} as const;

export const JOB_NOT_FOUND_DETAIL =
  'No job with this id belongs to this caller (its API key, or without API keys its Job-Token).';
export const JOBS_NEED_REDIS_DETAIL =
  'Bulk jobs need Redis (`JOBS_REDIS_URL` or `REDIS_URL`), which this deployment runs without; use the predict route.';
export const JOBS_UNAVAILABLE_DETAIL = 'The job store (Redis) is unreachable; retry shortly.';

/** The 409's detail for a caller whose jobs may hold `quota` bytes. */
export function accountOverQuotaDetail(quota: number): string {
  return (
    `This caller's unexpired jobs would hold more than JOB_STORED_BYTES_PER_KEY (${quota} bytes of texts and ` +
    'results); cancel a job or retry after `Retry-After` seconds. Nothing was created.'
  );
}
