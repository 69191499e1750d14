import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { STATUS_CODES } from 'node:http';
import { TooCostlyError } from '../common/too-costly-error.js';
import { UnavailableError } from '../common/unavailable-error.js';
import { PROBLEM, problemTitle } from './problem-catalogue.js';
import { PROBLEM_CONTENT_TYPE, ProblemError, problemType, type Problem, type ProblemKind } from './problem.js';

interface Rendered {
  problem: Omit<Problem, 'instance' | 'requestId'>;
  headers: Record<string, string>;
}

function ofKind({ type, title, status }: ProblemKind, detail: string, headers: Record<string, string> = {}): Rendered {
  return { problem: { type, title, status, detail }, headers };
}

/** A status the catalogue may not know (Nest's, Fastify's): its title from there, else Node's phrase. */
function plain(status: number, slug: string, detail: string, headers: Record<string, string> = {}): Rendered {
  const title = problemTitle(status) ?? STATUS_CODES[status] ?? 'Error';
  return { problem: { type: problemType(slug), title, status, detail }, headers };
}

/** Maps anything thrown while serving a request to problem details, never leaking internals. */
export function renderProblem(error: unknown): Rendered {
  if (error instanceof ProblemError) {
    const rendered = ofKind(error.kind, error.detail, error.headers);
    if (error.errors) rendered.problem.errors = error.errors;
    return rendered;
  }
  if (error instanceof UnavailableError) {
    const seconds = Math.max(1, Math.ceil(error.retryAfterSeconds));
    return plain(HttpStatus.SERVICE_UNAVAILABLE, error.reason, error.message, {
      ...error.headers,
      'retry-after': String(seconds),
    });
  }
  if (error instanceof TooCostlyError) {
    return ofKind(PROBLEM.requestTooCostly, error.message);
  }
  if (error instanceof HttpException) {
    const status = error.getStatus();
    return plain(status, slugOf(status), status === 404 ? 'No route matches this method and path.' : describe(error));
  }
  // Errors from Fastify plugins carry a status but no HttpException; their messages are not
  // ours to vouch for, so only the status phrase is shown.
  const fastifyError = error as { statusCode?: number };
  if (typeof fastifyError.statusCode === 'number' && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    return plain(
      fastifyError.statusCode,
      slugOf(fastifyError.statusCode),
      STATUS_CODES[fastifyError.statusCode] ?? 'Bad request',
    );
  }
  return ofKind(
    PROBLEM.internal,
    'The service failed to answer this request; the error is logged with its request id.',
  );
}

function slugOf(status: number): string {
  return (STATUS_CODES[status] ?? 'error').toLowerCase().replace(/[^a-z]+/g, '-');
}

function describe(error: HttpException): string {
  const response = error.getResponse();
  const message =
    typeof response === 'object' && response !== null ? (response as { message?: unknown }).message : response;
  return typeof message === 'string' ? message : error.message;
}

/** Writes a problem for this request: fills in `instance` (when a route matched) and `requestId`, logs server faults. */
export function sendProblem(error: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const { problem, headers } = renderProblem(error);
  if (problem.status >= 500 && !(error instanceof UnavailableError)) {
    request.log.error(
      { err: { type: (error as Error)?.name, message: (error as Error)?.message, stack: (error as Error)?.stack } },
      'request failed',
    );
  }
  // The matched route's template, never the path as sent: that is the caller's content.
  // The route as OpenAPI writes it: `/v1/sentiment/jobs/{id}`, not Fastify's `:id`.
  const instance = request.routeOptions.url?.replace(/:(\w+)/g, '{$1}');
  const body: Problem = { ...problem, ...(instance ? { instance } : {}), requestId: String(request.id) };
  void reply.status(problem.status).headers(headers).type(PROBLEM_CONTENT_TYPE).send(body);
}

@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  catch(error: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    sendProblem(error, http.getRequest<FastifyRequest>(), http.getResponse<FastifyReply>());
  }
}
