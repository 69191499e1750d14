import { problemType, type ProblemKind } from './problem.js';

/** The error statuses this service answers with a problem. */
export type ProblemStatus = 400 | 401 | 404 | 409 | 413 | 415 | 422 | 429 | 500 | 501 | 503;

/**
 * Each status's one title: RFC 9457 wants a title that does not change from one occurrence of a
 * type to the next, and clients switch on `type`, not on the title. RFC 9110's words, but for 413,
 * which keeps the name clients of this API have always been sent.
 */
const TITLES: Record<ProblemStatus, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
};

/** The title of `status`, for problems rendered from errors that are not ProblemErrors; else undefined. */
export function problemTitle(status: number): string | undefined {
  return (TITLES as Record<number, string | undefined>)[status];
}

/**
 * A kind of problem (status, `type` from `slug`, title): the one way to make one, so no title is
 * typed by hand. A feature declares the kinds of its own next to its controller.
 */
export function problemKind(status: ProblemStatus, slug: string): ProblemKind {
  return { status, slug, type: problemType(slug), title: TITLES[status] };
}

/**
 * The kinds of problem shared by every feature: the edge's refusals, request validation, the
 * model's limits and the service's own failures. Thrown as
 * `new ProblemError(PROBLEM.rateLimited, detail, { headers })`; the filter renders the error types
 * that are not ProblemErrors (Fastify's, TooCostlyError, UnavailableError) as these kinds too.
 */
export const PROBLEM = {
  badRequest: problemKind(400, 'bad-request'),
  badRequestTarget: problemKind(400, 'bad-request-target'),
  unauthorized: problemKind(401, 'unauthorized'),
  payloadTooLarge: problemKind(413, 'payload-too-large'),
  requestTooCostly: problemKind(413, 'request-too-costly'),
  unsupportedMediaType: problemKind(415, 'unsupported-media-type'),
  validation: problemKind(422, 'validation'),
  rateLimited: problemKind(429, 'rate-limited'),
  internal: problemKind(500, 'internal'),
  /** An UnavailableError's `reason` is its slug: `model-not-ready`, `over-capacity`, `queue-full`, … */
  modelNotReady: problemKind(503, 'model-not-ready'),
} as const satisfies Record<string, ProblemKind>;
