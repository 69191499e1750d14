import type { LoggerService } from '@nestjs/common';
import { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import {
  pino,
  type Bindings,
  type ChildLoggerOptions,
  type DestinationStream,
  type Logger,
  type LoggerOptions,
} from 'pino';
import type { LogLevel } from '../config/settings.js';
import { logCorrelation } from '../telemetry/request-context.js';

/** Fastify's per-request loggers: the request id is one of their bindings already. */
const requestLoggers = new WeakSet<object>();

/**
 * One JSON line per event (pino), shared by Fastify's request logs and Nest's own. Written to
 * stdout unless a destination is given (tests capture the lines to check what is logged). A line
 * written while a request is handled carries its `requestId` wherever it is written (the cache, the
 * scheduler, the jobs: request-context.ts), and with tracing on the active `traceId` and `spanId`.
 */
export function createJsonLogger(level: LogLevel, destination?: DestinationStream): Logger {
  const options: LoggerOptions = {
    level,
    base: { service: 'sentiment-api' },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Request logs carry method, route and ids only: never bodies, paths as sent, query strings or
    // credentials. `path` is the matched route's template (absent when none matched).
    serializers: {
      req: (req: { method: string; routeOptions?: { url?: string } }) => ({
        method: req.method,
        path: req.routeOptions?.url,
      }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
    redact: { paths: ['req.headers.authorization', 'req.headers["x-api-key"]'], remove: true },
    mixin: (_fields, _level, logger) => logCorrelation(!requestLoggers.has(logger)),
  };
  return destination ? pino(options, destination) : pino(options);
}

/** Fastify's `childLoggerFactory`: its default, remembering the logger so no line names the request id twice. */
export function requestLogger(
  logger: FastifyBaseLogger,
  bindings: Bindings,
  options: ChildLoggerOptions,
): FastifyBaseLogger {
  const child = logger.child(bindings, options);
  requestLoggers.add(child);
  return child;
}

/**
 * Fastify's request logs, with "incoming request" moved: Fastify writes it before the first onRequest
 * hook, where neither the request's context nor (with tracing on) its server span is active yet, so
 * the line would carry no trace id. `logIncomingRequests` writes it instead, from a hook.
 */
export class RequestLogController extends LogController {
  override incomingRequest(): void {
    // Written by logIncomingRequests.
  }
}

/** The "incoming request" line, from an onRequest hook added after the hooks that set the request's context. */
export function logIncomingRequests(fastify: FastifyInstance): void {
  fastify.addHook('onRequest', (request, _reply, done) => {
    request.log.info({ req: request }, 'incoming request');
    done();
  });
}

/** Routes Nest's logger calls into the same JSON stream; structured messages stay structured. */
export class NestJsonLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  log(message: unknown, context?: string): void {
    this.write('info', message, context);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.write('error', message, rest.at(-1) as string | undefined);
  }
  warn(message: unknown, context?: string): void {
    this.write('warn', message, context);
  }
  debug(message: unknown, context?: string): void {
    this.write('debug', message, context);
  }
  verbose(message: unknown, context?: string): void {
    this.write('trace', message, context);
  }

  private write(level: 'info' | 'error' | 'warn' | 'debug' | 'trace', message: unknown, context?: string): void {
    if (typeof message === 'object' && message !== null) this.logger[level]({ context, ...message });
    else this.logger[level]({ context }, String(message));
  }
}
