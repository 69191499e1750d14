import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { LogController } from 'fastify';
import type { Logger } from 'pino';
import { AppModule } from '../app.module.js';
import { InferenceService } from '../inference/inference.service.js';
import { routeNeedsModel } from '../inference/needs-model.js';
import type { Settings } from '../config/settings.js';
import { serveOpenApi } from '../openapi.js';
import { createJsonLogger, NestJsonLogger } from './json-logger.js';
import { ProblemDetailsFilter, sendProblem } from './problem-details.filter.js';
import { REQUEST_ID_HEADER, requestIdOf } from './request-id.js';
import { applySecureHeaders } from './secure-headers.js';

/**
 * Builds the whole application on Fastify: used by `main.ts` and by the tests, so both serve
 * exactly the same stack. The model is not loaded here: call `SentimentModel.load()`.
 */
export async function createApp(
  settings: Settings,
  logger: Logger = createJsonLogger(settings.logLevel),
): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    loggerInstance: logger,
    bodyLimit: settings.maxBodyBytes,
    genReqId: requestIdOf,
    logController: new LogController({ requestIdLogLabel: 'requestId' }),
    return503OnClosing: false,
    // Decides request.ip, and so the per-IP rate limit behind a proxy (TRUST_PROXY).
    trustProxy: typeof settings.trustProxy === 'boolean' ? settings.trustProxy : [...settings.trustProxy],
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(settings), adapter, {
    logger: new NestJsonLogger(logger),
  });
  const fastify = app.getHttpAdapter().getInstance();
  // Only JSON bodies are part of the contract; Fastify would otherwise accept text/plain.
  fastify.removeContentTypeParser('text/plain');
  fastify.addHook('onRequest', async (request, reply) => {
    void reply.header(REQUEST_ID_HEADER, request.id);
  });
  // Overload is refused before the body is read or parsed: when the queued work alone is past what
  // the deadline allows, no request that needs the model could be admitted.
  const inference = app.get(InferenceService);
  fastify.addHook('onRequest', async (request, reply) => {
    if (!routeNeedsModel(request)) return;
    const refusal = inference.refuseEarly();
    if (!refusal) return;
    sendProblem(refusal, request, reply);
    return reply;
  });
  await applySecureHeaders(app, settings);
  app.useGlobalFilters(new ProblemDetailsFilter());
  serveOpenApi(app);
  await app.init();
  // Nest registers a form parser at init: a form body would be parsed, fail validation and have
  // its field names (the caller's content) quoted in the 422. Only JSON is part of the contract.
  fastify.removeContentTypeParser('application/x-www-form-urlencoded');
  await fastify.ready();
  return app;
}
