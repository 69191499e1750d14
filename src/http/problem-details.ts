/**
 * The details of the problems the edge answers with, in one place: the guards and limits that
 * throw them and the OpenAPI document that shows them read the same words. (Their kinds are in
 * problem-catalogue.ts; a feature's own details are the feature's.)
 */
export const UNAUTHORIZED_DETAIL =
  'A valid API key is required: send it as `Authorization: Bearer <key>` or `X-API-Key`.';
export const METRICS_UNAUTHORIZED_DETAIL =
  'The metrics key is required: send it as `Authorization: Bearer <key>` or `X-API-Key`.';
export const RATE_LIMITED_DETAIL = 'Too many requests from this client; retry after `Retry-After` seconds.';
export const TOO_MANY_FAILURES_DETAIL =
  'Too many requests without a valid key from this address; retry after `Retry-After` seconds.';
