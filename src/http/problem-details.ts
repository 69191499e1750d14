/**
 * The catalogue of the problem details the edge answers with, in one place: the guards and limits
 * that throw them and the OpenAPI document that shows them read the same words.
 */
export const UNAUTHORIZED_DETAIL =
  'A valid API key is required: send it as `Authorization: Bearer <key>` or `X-API-Key`.';
export const METRICS_UNAUTHORIZED_DETAIL =
  'The metrics key is required: send it as `Authorization: Bearer <key>` or `X-API-Key`.';
export const RATE_LIMITED_DETAIL = 'Too many requests from this client; retry after `Retry-After` seconds.';
export const TOO_MANY_FAILURES_DETAIL =
  'Too many requests without a valid key from this address; retry after `Retry-After` seconds.';
export const JOBS_NEED_REDIS_DETAIL =
  'Bulk jobs need Redis (`JOBS_REDIS_URL` or `REDIS_URL`), which this deployment runs without; use the predict route.';
export const JOBS_UNAVAILABLE_DETAIL = 'The job store (Redis) is unreachable; retry shortly.';
