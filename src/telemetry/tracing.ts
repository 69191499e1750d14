import { register } from 'node:module';
import type { Telemetry } from 'bullmq';
import { settleWithin } from '../common/settle-within.js';
import type { StartedTracing } from './sdk.js';

/** The longest shutdown waits for the collector to take the last spans; later ones are dropped. */
export const TRACE_FLUSH_MS = 1000;

let started: StartedTracing | undefined;

/**
 * Tracing is configured only by the standard OTEL_* variables, and is on when an OTLP endpoint is
 * set for traces (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT), unless
 * OTEL_SDK_DISABLED=true.
 */
export function tracingRequested(env: NodeJS.ProcessEnv): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false;
  return Boolean(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim());
}

/**
 * Starts the OpenTelemetry SDK when tracing is requested; otherwise loads nothing of it. Must run
 * before the app's modules are imported: the instrumentations patch ES modules through the loader
 * hook of `@opentelemetry/instrumentation` (import-in-the-middle), which sees only the imports made
 * after it is registered.
 */
export async function startTracing(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  if (!tracingRequested(env)) return;
  register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);
  const { startSdk } = await import('./sdk.js');
  started = startSdk(env);
}

export function tracingStarted(): boolean {
  return started !== undefined;
}

/** BullMQ's telemetry option: undefined (none) unless tracing is on. */
export function bullmqTelemetry(): Telemetry | undefined {
  return started?.bullmq;
}

/** At shutdown: the buffered spans go to the collector, for at most TRACE_FLUSH_MS. */
export async function flushTraces(): Promise<void> {
  if (started) await settleWithin(started.shutdown(), TRACE_FLUSH_MS);
}
