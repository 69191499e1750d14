import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { AppModule } from '../app.module.js';
import { RouteAccessGate } from '../auth/route-access.gate.js';
import type { HttpServerLimits, Settings } from '../config/settings.js';
import { InferenceService } from '../inference/inference.service.js';
import { routeNeedsModel } from '../inference/needs-model.js';
import { serveOpenApi } from './openapi.js';
import {
  createJsonLogger,
  logIncomingRequests,
  NestJsonLogger,
  RequestLogController,
  requestLogger,
} from '../http/json-logger.js';
import { limitConnections } from '../http/connection-limits.js';
import { lingerBeforeClosing } from '../http/lingering-close.js';
import { sendDeprecationHeaders } from '../http/deprecation.js';
import { ProblemDetailsFilter, sendProblem } from '../http/problem-details.filter.js';
import { REQUEST_ID_HEADER, requestIdOf, trackRequestContext } from '../http/request-id.js';
import { badRequestTarget, isNormalRequestTarget } from '../http/request-target.js';
import { addSecureHeaders, applyCors } from '../http/secure-headers.js';
import { exposeServerSpans } from '../telemetry/server-span.js';
import { tracingStarted } from '../telemetry/tracing.js';

/**
 * Builds the whole application on Fastify: used by `main.ts`; tests build the same module with
 * `Test.createTestingModule` (providers overridden) and finish it with `createAdapter` and
 * `configureApp`, so both serve exactly the same stack. The model is not loaded here: call
 * `SentimentModel.load()`.
 */
export async function createApp(
  settings: Settings,
  logger: Logger = createJsonLogger(settings.logLevel),
): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(settings),
    createAdapter(settings, logger),
    { logger: new NestJsonLogger(logger) },
  );
  return configureApp(app, settings);
}

/**
 * The Fastify server as the settings want it: logs, body limit, proxies, timeouts, connection caps
 * and the lingering close after an answer given before the body was all in.
 */
export function createAdapter(settings: Settings, logger: Logger): FastifyAdapter {
  const adapter = new FastifyAdapter({
    loggerInstance: logger,
    bodyLimit: settings.maxBodyBytes,
    genReqId: requestIdOf,
    logController: new RequestLogController({ requestIdLogLabel: 'requestId' }),
    childLoggerFactory: requestLogger,
    return503OnClosing: false,
    // Decides request.ip, and so the per-IP rate limit behind a proxy (TRUST_PROXY).
    trustProxy: typeof settings.trustProxy === 'boolean' ? settings.trustProxy : [...settings.trustProxy],
    ...serverTimeouts(settings.http),
    // The router refuses a target it cannot decode (`%C0%AF`) before any hook runs; Fastify's own
    // answer would quote the path.
    frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      void reply.header(REQUEST_ID_HEADER, request.id);
      sendProblem(error.code === 'FST_ERR_BAD_URL' ? badRequestTarget() : error, request, reply);
    },
  });
  limitConnections(adapter.getInstance().server, settings.http);
  // A body refused while it is still arriving (413): its answer must reach a client still sending.
  lingerBeforeClosing(adapter.getInstance().server, settings.maxBodyBytes);
  return adapter;
}

/** The edge of the application (hooks, headers, errors, the OpenAPI routes), then init. */
export async function configureApp(app: NestFastifyApplication, settings: Settings): Promise<NestFastifyApplication> {
  const fastify = app.getHttpAdapter().getInstance();
  // Only JSON bodies are part of the contract; Fastify would otherwise accept text/plain.
  fastify.removeContentTypeParser('text/plain');
  // Job submissions: the raw stream, read line by line by the jobs route (never buffered whole).
  fastify.addContentTypeParser('application/x-ndjson', (_request, payload, done) => done(null, payload));
  // First, so every hook after them runs in the request's context (its id on every log line) and,
  // with tracing on, even a refused request answers its trace's `traceparent`.
  trackRequestContext(fastify);
  if (tracingStarted()) exposeServerSpans(fastify);
  logIncomingRequests(fastify);
  addSecureHeaders(fastify);
  // The edge, in this order and before any body is read: a target the router could read otherwise
  // than it is spelled is refused; then the matched route's key and rate limit (RouteAccessGate);
  // then overload: when the queued work alone is past what the deadline allows, no request that
  // needs the model could be admitted, so it is refused before its body is parsed.
  const access = app.get(RouteAccessGate);
  const inference = app.get(InferenceService);
  fastify.addHook('onRequest', async (request, reply) => {
    void reply.header(REQUEST_ID_HEADER, request.id);
    sendDeprecationHeaders(request, reply);
    try {
      if (!isNormalRequestTarget(request.raw.url ?? '')) throw badRequestTarget();
      await access.check(request, reply);
      const refusal = routeNeedsModel(request) ? inference.refuseEarly() : undefined;
      if (refusal) throw refusal;
    } catch (error) {
      sendProblem(error, request, reply);
      return reply;
    }
  });
  applyCors(app, settings);
  app.useGlobalFilters(new ProblemDetailsFilter());
  serveOpenApi(app);
  await app.init();
  // Nest registers a form parser at init: a form body would be parsed, fail validation and have
  // its field names (the caller's content) quoted in the 422. Only JSON is part of the contract.
  fastify.removeContentTypeParser('application/x-www-form-urlencoded');
  await fastify.ready();
  return app;
}

/** Fastify's and Node's timeouts; Node checks them every `connectionsCheckingInterval`. */
function serverTimeouts(limits: HttpServerLimits) {
  const timeouts = [limits.requestTimeoutMs, limits.headersTimeoutMs].filter((ms) => ms > 0);
  return {
    requestTimeout: limits.requestTimeoutMs,
    connectionTimeout: limits.connectionTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    http: {
      requestTimeout: limits.requestTimeoutMs,
      headersTimeout: limits.headersTimeoutMs,
      // Node's default (30 s) would let a slow request outlive a short timeout by that much.
      connectionsCheckingInterval: Math.min(1000, ...timeouts),
    },
  };
}
