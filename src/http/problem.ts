/** RFC 9457 problem details, the body of every error this service returns. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  /** The template of the route that matched (`/v1/model`); absent when none did. */
  instance?: string;
  requestId: string;
  errors?: ProblemFieldError[];
}

/** One invalid part of a request body, e.g. `{ path: 'text[3]', message: 'must be a string' }`. */
export interface ProblemFieldError {
  path: string;
  message: string;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** Problem type URIs: stable identifiers clients can switch on. */
export function problemType(slug: string): string {
  return `urn:sentiment-api:problem:${slug}`;
}

/**
 * An error the HTTP layer should answer as a problem. Thrown by pipes and guards; the
 * exception filter renders it. `detail` must never quote submitted texts.
 */
export class ProblemError extends Error {
  constructor(
    readonly status: number,
    readonly slug: string,
    readonly title: string,
    readonly detail: string,
    readonly errors?: ProblemFieldError[],
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
    this.name = 'ProblemError';
  }
}
