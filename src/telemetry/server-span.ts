import { trace } from '@opentelemetry/api';
import type { FastifyInstance } from 'fastify';
import { traceparentOf } from './spans.js';

/** The attribute of the server span that holds the request's id (X-Request-Id). */
export const REQUEST_ID_ATTRIBUTE = 'sentiment.request_id';

/**
 * With tracing on, every response carries the W3C `traceparent` of its server span, so a caller
 * (or its support engineer) finds the trace of a request; the span records the request's id. An
 * onRequest hook, so refusals at the edge (401, 429, 503) carry it too. @fastify/otel's onRequest
 * hook is registered when the Fastify instance is made, before this one, and runs the later hooks
 * with the request's server span active.
 */
export function exposeServerSpans(fastify: FastifyInstance): void {
  fastify.addHook('onRequest', (request, reply, done) => {
    const span = trace.getActiveSpan();
    if (span) {
      span.setAttribute(REQUEST_ID_ATTRIBUTE, request.id);
      void reply.header('traceparent', traceparentOf(span.spanContext()));
    }
    done();
  });
}
