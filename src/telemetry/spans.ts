import {
  context,
  isSpanContextValid,
  SpanStatusCode,
  trace,
  TraceFlags,
  type Context,
  type Span,
  type SpanContext,
  type SpanOptions,
  type Tracer,
} from '@opentelemetry/api';

/**
 * A tracer whose spans below a local span that records nothing are no-op spans carrying that
 * span's context. Under a parent-based sampler (the default, and the one to configure) such a span
 * would record nothing either, and starting it (ids, attributes, sampler) was most of what tracing
 * cost a request that is not sampled (docs/PERFORMANCE.md). A remote parent (a caller's
 * `traceparent`) and roots (`root: true`) go to the SDK as ever.
 */
export class ParentBasedTracer implements Tracer {
  readonly startActiveSpan: Tracer['startActiveSpan'];

  constructor(private readonly sdkTracer: Tracer) {
    this.startActiveSpan = sdkTracer.startActiveSpan.bind<Tracer['startActiveSpan']>(sdkTracer);
  }

  startSpan(name: string, options: SpanOptions = {}, parentContext: Context = context.active()): Span {
    if (options.root !== true) {
      const parent = trace.getSpan(parentContext);
      if (parent !== undefined && !parent.isRecording() && parent.spanContext().isRemote !== true) {
        return trace.wrapSpanContext(parent.spanContext());
      }
    }
    return this.sdkTracer.startSpan(name, options, parentContext);
  }
}

/**
 * The service's own spans (issue #24), for what the HTTP, NestJS and Redis instrumentations cannot
 * see: key check, rate limit, admission, cache, tokenization, queue wait, model call, job chunk.
 * Only `@opentelemetry/api`: without a registered SDK every span is a non-recording no-op, so call
 * sites compute attributes that cost anything only when `span.isRecording()`. Submitted texts and
 * API keys never go into a span.
 */
export const tracer = new ParentBasedTracer(trace.getTracer('sentiment-api'));

/** Our span names, one place for the docs and the tests. */
export const SPAN = {
  auth: 'sentiment.auth',
  rateLimit: 'sentiment.rate_limit',
  admission: 'sentiment.admission',
  cacheLookup: 'sentiment.cache.lookup',
  cacheWrite: 'sentiment.cache.write',
  tokenize: 'sentiment.tokenize',
  queueWait: 'sentiment.queue_wait',
  modelCall: 'sentiment.model_call',
  jobChunk: 'sentiment.job.chunk',
} as const;

/** Marks a failed step: the exception as an event, status ERROR, `error.type` (semantic conventions). */
export function recordFailure(span: Span, error: unknown, type?: string): void {
  const exception = error instanceof Error ? error : new Error(String(error));
  span.recordException(exception);
  span.setStatus({ code: SpanStatusCode.ERROR, message: exception.message });
  span.setAttribute('error.type', type ?? exception.name);
}

/**
 * Runs `work` in a new span made the active one (so the spans of the calls it makes, Redis's say,
 * are its children), and records a throw as the step's failure.
 */
export async function inSpan<T>(name: string, options: SpanOptions, work: (span: Span) => Promise<T>): Promise<T> {
  const span = tracer.startSpan(name, options);
  try {
    return await withSpan(span, () => work(span));
  } catch (error) {
    recordFailure(span, error);
    throw error;
  } finally {
    span.end();
  }
}

/**
 * Runs `work` with `span` active, without ending it. A span that records nothing is not made active:
 * its children would only inherit the decision not to record, which the active span already
 * carries, and a new context per step is most of what a span costs with tracing off.
 */
export function withSpan<T>(span: Span, work: () => T): T {
  return span.isRecording() ? context.with(trace.setSpan(context.active(), span), work) : work();
}

/** The active span's context, or undefined when nothing is traced. */
export function activeSpanContext(): SpanContext | undefined {
  const spanContext = trace.getSpanContext(context.active());
  return spanContext && isSpanContextValid(spanContext) ? spanContext : undefined;
}

/** W3C `traceparent` (version 00) of a span context, to store with work that another process picks up. */
export function traceparentOf(spanContext: SpanContext): string {
  const flags = (spanContext.traceFlags & TraceFlags.SAMPLED).toString(16).padStart(2, '0');
  return `00-${spanContext.traceId}-${spanContext.spanId}-${flags}`;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The span context a stored `traceparent` names, or undefined when it is absent or malformed. */
export function spanContextOf(traceparent: string | undefined): SpanContext | undefined {
  const match = traceparent === undefined ? null : TRACEPARENT.exec(traceparent);
  if (!match) return undefined;
  const spanContext: SpanContext = {
    traceId: match[1],
    spanId: match[2],
    traceFlags: parseInt(match[3], 16) & TraceFlags.SAMPLED,
    isRemote: true,
  };
  return isSpanContextValid(spanContext) ? spanContext : undefined;
}
