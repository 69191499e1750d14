import type { Telemetry } from 'bullmq';
import { FastifyOtelInstrumentation } from '@fastify/otel';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { RedisInstrumentation } from '@opentelemetry/instrumentation-redis';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BullMQOtel } from 'bullmq-otel';
import { NestCoreInstrumentation } from './nestjs-instrumentation.js';

/** What a started SDK gives the app. */
export interface StartedTracing {
  /** BullMQ's producer and consumer spans (bullmq-otel), for the queue and the chunk worker. */
  readonly bullmq: Telemetry;
  /** Exports the spans still buffered, then stops the SDK. */
  shutdown(): Promise<void>;
}

/** Unless OTEL_SERVICE_NAME (or service.name in OTEL_RESOURCE_ATTRIBUTES) names it otherwise. */
const SERVICE_NAME = 'sentiment-api';

/** Probes and scrapes: a trace every few seconds per pod that says nothing about the work. */
const UNTRACED_PATHS = new Set(['/health/live', '/health/ready', '/metrics']);

/**
 * The OpenTelemetry SDK for traces only (metrics stay Prometheus', logs the JSON lines on stdout),
 * with the instrumentations of the libraries a request goes through. Exporter, protocol, sampler,
 * propagators and resource come from the OTEL_* variables, as NodeSDK reads them. Imported only
 * when tracing is on (tracing.ts).
 */
export function startSdk(env: NodeJS.ProcessEnv): StartedTracing {
  const named =
    Boolean(env.OTEL_SERVICE_NAME?.trim()) || /(^|,)\s*service\.name\s*=/.test(env.OTEL_RESOURCE_ATTRIBUTES ?? '');
  const sdk = new NodeSDK({
    serviceName: named ? undefined : SERVICE_NAME,
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [
      // The server span of a request is Fastify's request span (@fastify/otel, which reads the caller's
      // `traceparent`), named `METHOD /route`; our own hooks have spans of their own (spans.ts). Node's HTTP instrumentation would add a second server span and
      // bind every request and response event to its context: as much CPU as the rest of tracing, for
      // nothing a trace of this service needs (issue #24, docs/PERFORMANCE.md).
      new FastifyOtelInstrumentation({
        registerOnInitialization: true,
        instrumentHooks: false,
        // NestJS's instrumentation names the handler span after the controller method.
        instrumentHandler: false,
        ignorePaths: (route) => UNTRACED_PATHS.has(route.url),
        requestHook: (span, request) => {
          // Its `url.path` would be the target as sent, query string included.
          span.setAttribute('url.path', pathOf(request.url));
          if (request.routeOptions.url !== undefined) span.updateName(`${request.method} ${request.routeOptions.url}`);
        },
      }),
      // The controller method's span (nestjs.controller, nestjs.callback) and the app's creation.
      new NestCoreInstrumentation(),
      // The command name only: arguments carry job texts (BullMQ's scripts) and cached predictions.
      new RedisInstrumentation({ dbStatementSerializer: (command) => command }),
      new IORedisInstrumentation({ dbStatementSerializer: (command) => command }),
    ],
  });
  sdk.start();
  return { bullmq: new BullMQOtel(SERVICE_NAME), shutdown: () => sdk.shutdown() };
}

function pathOf(target: string): string {
  const query = target.indexOf('?');
  return query === -1 ? target : target.slice(0, query);
}
