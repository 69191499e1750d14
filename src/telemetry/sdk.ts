import { IncomingMessage } from 'node:http';
import type { Telemetry } from 'bullmq';
import { FastifyOtelInstrumentation } from '@fastify/otel';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { RedisInstrumentation } from '@opentelemetry/instrumentation-redis';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BullMQOtel } from 'bullmq-otel';
import { rememberServerSpan } from './server-span.js';

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
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (request) => UNTRACED_PATHS.has(pathOf(request.url)),
        // A query string is no part of the API and may carry what a caller should not have sent (a key).
        startIncomingSpanHook: () => ({ 'url.query': undefined }),
        requestHook: (span, request) => {
          if (request instanceof IncomingMessage) rememberServerSpan(request, span);
        },
      }),
      // Fastify's request and route handler spans; our own hooks have spans of their own (spans.ts).
      new FastifyOtelInstrumentation({
        registerOnInitialization: true,
        instrumentHooks: false,
        ignorePaths: (route) => UNTRACED_PATHS.has(route.url),
        // Its `url.path` would be the target as sent, query string included.
        requestHook: (span, request) => span.setAttribute('url.path', pathOf(request.url)),
      }),
      // The command name only: arguments carry job texts (BullMQ's scripts) and cached predictions.
      new RedisInstrumentation({ dbStatementSerializer: (command) => command }),
      new IORedisInstrumentation({ dbStatementSerializer: (command) => command }),
    ],
  });
  sdk.start();
  return { bullmq: new BullMQOtel(SERVICE_NAME), shutdown: () => sdk.shutdown() };
}

function pathOf(target: string | undefined): string {
  return target?.split('?')[0] ?? '';
}
