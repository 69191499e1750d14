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
 * A kind of problem: its status, its `type` (`problemType(slug)`) and the title every problem of
 * that status carries. Made by `problemKind` (src/http/problem-catalogue.ts), never by hand.
 */
export interface ProblemKind {
  readonly status: number;
  readonly slug: string;
  readonly type: string;
  readonly title: string;
}

export interface ProblemOptions {
  /** Validation problems: every invalid part of the request. */
  errors?: ProblemFieldError[];
  /** Response headers the problem needs (`Retry-After`, `WWW-Authenticate`, …). */
  headers?: Record<string, string>;
}

/**
 * An error the HTTP layer should answer as a problem of `kind`. Thrown by pipes, guards and
 * services; the exception filter renders it. `detail` must never quote submitted texts.
 */
export class ProblemError extends Error {
  readonly status: number;
  readonly slug: string;
  readonly title: string;
  readonly errors?: ProblemFieldError[];
  readonly headers: Record<string, string>;

  constructor(
    readonly kind: ProblemKind,
    readonly detail: string,
    { errors, headers = {} }: ProblemOptions = {},
  ) {
    super(detail);
    this.name = 'ProblemError';
    ({ status: this.status, slug: this.slug, title: this.title } = kind);
    this.errors = errors;
    this.headers = headers;
  }

  /** The same problem with more response headers (`Connection: close` for a refused upload). */
  withHeaders(headers: Record<string, string>): ProblemError {
    return new ProblemError(this.kind, this.detail, { errors: this.errors, headers: { ...this.headers, ...headers } });
  }
}
