import { AsyncLocalStorage } from 'node:async_hooks';
import { context, isSpanContextValid, trace } from '@opentelemetry/api';

/** What is known, anywhere in the code, about the request being handled. */
export interface RequestContext {
  readonly requestId: string;
}

const requests = new AsyncLocalStorage<RequestContext>();

/** Runs `work`, and everything it starts asynchronously, as part of the request `requestId`. */
export function runInRequestContext<T>(requestId: string, work: () => T): T {
  return requests.run({ requestId }, work);
}

/**
 * Runs `work`, and everything it starts asynchronously, as part of no request: work shared by
 * several requests, whose lines and timers (a model call's watchdog, the worker restart it may set
 * off) must not carry the id of whichever request happened to start it.
 */
export function outsideAnyRequest<T>(work: () => T): T {
  return requests.exit(work);
}

/** The request being handled here, if any. */
export function currentRequest(): RequestContext | undefined {
  return requests.getStore();
}

/** What ties a log line to its request and trace. */
export interface LogCorrelation {
  requestId?: string;
  traceId?: string;
  spanId?: string;
}

/**
 * The request id, and with tracing on the active span's trace and span ids (the API is a no-op
 * without the SDK, so there are none then). `withRequestId: false` for a logger that already has
 * the id as a binding (Fastify's request loggers).
 */
export function logCorrelation(withRequestId = true): LogCorrelation {
  const fields: LogCorrelation = {};
  const requestId = withRequestId ? requests.getStore()?.requestId : undefined;
  if (requestId !== undefined) fields.requestId = requestId;
  const spanContext = trace.getSpanContext(context.active());
  if (spanContext && isSpanContextValid(spanContext)) {
    fields.traceId = spanContext.traceId;
    fields.spanId = spanContext.spanId;
  }
  return fields;
}
