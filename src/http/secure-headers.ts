import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance } from 'fastify';
import helmet from 'helmet';
import type { Settings } from '../config/settings.js';

/** Headers browsers may read from cross-origin answers: the ones the contract documents. */
const EXPOSED_HEADERS = ['X-Request-Id', 'X-Cache', 'Retry-After', 'WWW-Authenticate'];

/**
 * Helmet's defaults, its middleware built once. Helmet itself rather than @fastify/helmet: the
 * plugin builds the middleware again for every request (Content-Security-Policy parsed each time,
 * a few per cent of a cached answer), and its hook ran after the edge's, so a refusal there (401,
 * 429, a bad target) went out without these headers. Swagger UI at /docs loads only its own
 * scripts and styles, so the default Content-Security-Policy fits it as is.
 */
const setSecureHeaders = helmet();

/** Helmet's headers on every answer: call before the edge's hook, so its refusals carry them too. */
export function addSecureHeaders(fastify: FastifyInstance): void {
  fastify.addHook('onRequest', (request, reply, done) => {
    setSecureHeaders(request.raw, reply.raw, () => done());
  });
}

/** CORS only for the origins in `CORS_ORIGINS` (none by default: the API is called server to server). */
export function applyCors(app: NestFastifyApplication, settings: Settings): void {
  if (settings.corsOrigins.length > 0) {
    app.enableCors({
      origin: [...settings.corsOrigins],
      methods: ['GET', 'POST'],
      allowedHeaders: ['Content-Type', 'Authorization', 'X-API-Key', 'X-Request-Id'],
      exposedHeaders: EXPOSED_HEADERS,
      maxAge: 600,
    });
  }
}
