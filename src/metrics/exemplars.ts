import { TraceFlags, trace } from '@opentelemetry/api';
import { Registry, type Metric, type OpenMetricsContentType } from 'prom-client';

/** The exemplar labels of an observation: the trace it was made in, so a dashboard can open that trace. */
export type TraceExemplar = { trace_id: string } | Record<string, never>;

const NO_EXEMPLAR: TraceExemplar = Object.freeze({});

/**
 * The trace id of the span active now, when that span is sampled (an unsampled trace is never
 * exported, a link to it would lead nowhere); none without the OpenTelemetry SDK, whose absence
 * leaves the API's no-op tracer in place.
 */
export function traceExemplar(): TraceExemplar {
  const context = trace.getActiveSpan()?.spanContext();
  if (!context || (context.traceFlags & TraceFlags.SAMPLED) === 0) return NO_EXEMPLAR;
  return { trace_id: context.traceId };
}

/**
 * Whether a scraper's Accept header asks for OpenMetrics: Prometheus lists
 * `application/openmetrics-text` first and plain text as its fallback; anything else (a browser,
 * curl) gets the Prometheus text format.
 */
export function acceptsOpenMetrics(accept: string | undefined): boolean {
  return (accept ?? '').split(',').some((range) => {
    const [mediaType, ...parameters] = range.split(';').map((part) => part.trim().toLowerCase());
    const quality = parameters.find((parameter) => parameter.startsWith('q='));
    return mediaType === 'application/openmetrics-text' && (quality === undefined || Number(quality.slice(2)) > 0);
  });
}

/**
 * The metrics of `source` in the OpenMetrics format, exemplars included. prom-client renders a
 * registry in one format, and its OpenMetrics rendering renames each counter it is given (drops
 * `_total` from the metric object's name), which would change the names of the Prometheus-format
 * scrapes that follow; so a registry built for this scrape renders views of the metrics, each
 * with a name of its own.
 */
export function openMetricsExposition(source: Registry): Promise<string> {
  const exposition = new Registry<OpenMetricsContentType>();
  exposition.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  for (const metric of source.getMetricsAsArray()) exposition.registerMetric(Object.create(metric) as Metric);
  return exposition.metrics();
}
