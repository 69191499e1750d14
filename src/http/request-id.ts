import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { runInRequestContext } from '../telemetry/request-context.js';

export const REQUEST_ID_HEADER = 'x-request-id';

/** A caller's id is echoed only when it is a plain token; anything else gets a fresh UUID. */
const ACCEPTED_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestIdOf(request: IncomingMessage): string {
  const sent = request.headers[REQUEST_ID_HEADER];
  return typeof sent === 'string' && ACCEPTED_ID.test(sent) ? sent : randomUUID();
}

/**
 * Makes the request's id known to everything its handling runs (the request context), so log lines
 * written anywhere carry it. Registered before any other hook; Fastify runs the route's handler in
 * the same async context even when the body arrives later (its body parser is an AsyncResource).
 */
export function trackRequestContext(fastify: FastifyInstance): void {
  fastify.addHook('onRequest', (request, _reply, done) => runInRequestContext(request.id, done));
}
