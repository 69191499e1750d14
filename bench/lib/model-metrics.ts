/**
 * What the model itself did during a load run, from the service's Prometheus metrics
 * (src/metrics): texts classified, model calls and time spent in them. It tells whether a
 * throughput gap lies in the model (busy all the time) or in front of it (idle while requests wait).
 */

import { parseExposition, sumOf } from '../../test/support/prometheus-text.js';

export interface ModelCounters {
  texts: number;
  calls: number;
  busySeconds: number;
  /** performance.now() when read. */
  at: number;
}

export interface ModelActivity {
  /** Texts the model classified per second, whether or not their requests completed in time. */
  sentencesPerSecond: number;
  meanBatchSize: number;
  /** Share of the time a model call was running (1 = the model never waited for work). */
  busyShare: number;
}

const SERIES = {
  texts: 'sentiment_model_batch_size_sum',
  calls: 'sentiment_model_batch_size_count',
  busySeconds: 'sentiment_model_call_duration_seconds_sum',
} as const;

/** The counters now, or undefined when the service exposes no /metrics. */
export async function readModelCounters(baseUrl: string): Promise<ModelCounters | undefined> {
  const response = await fetch(`${baseUrl}/metrics`);
  const text = await response.text();
  if (response.status !== 200) return undefined;
  const exposition = parseExposition(text);
  return {
    texts: sumOf(exposition, SERIES.texts),
    calls: sumOf(exposition, SERIES.calls),
    busySeconds: sumOf(exposition, SERIES.busySeconds),
    at: performance.now(),
  };
}

export function modelActivity(before: ModelCounters, after: ModelCounters): ModelActivity {
  const seconds = (after.at - before.at) / 1000;
  const calls = after.calls - before.calls;
  const texts = after.texts - before.texts;
  return {
    sentencesPerSecond: texts / seconds,
    meanBatchSize: calls === 0 ? 0 : texts / calls,
    busyShare: (after.busySeconds - before.busySeconds) / seconds,
  };
}
