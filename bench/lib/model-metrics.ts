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
  /** Real and padded tokens the model ran, when the service counts them (else undefined). */
  realTokens?: number;
  paddedTokens?: number;
  /** performance.now() when read. */
  at: number;
}

export interface ModelActivity {
  /** Texts the model classified per second, whether or not their requests completed in time. */
  sentencesPerSecond: number;
  meanBatchSize: number;
  /** Share of the time a model call was running (1 = the model never waited for work). */
  busyShare: number;
  /** Real tokens ÷ padded tokens of the window's model calls, when the service counts both. */
  paddingEfficiency?: number;
}

const SERIES = {
  texts: 'sentiment_model_batch_size_sum',
  calls: 'sentiment_model_batch_size_count',
  busySeconds: 'sentiment_model_call_duration_seconds_sum',
} as const;

/**
 * The scheduler's token counters (issue #12). Read only when the service exposes them: a service
 * without them reports no padding efficiency rather than a wrong one.
 */
const TOKEN_SERIES = 'sentiment_model_tokens_total';

const has = (exposition: ReturnType<typeof parseExposition>, name: string) =>
  exposition.samples.some((sample) => sample.name === name);

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
    ...(has(exposition, TOKEN_SERIES)
      ? {
          realTokens: sumOf(exposition, TOKEN_SERIES, { kind: 'real' }),
          paddedTokens: sumOf(exposition, TOKEN_SERIES, { kind: 'padded' }),
        }
      : {}),
    at: performance.now(),
  };
}

export function modelActivity(before: ModelCounters, after: ModelCounters): ModelActivity {
  const seconds = (after.at - before.at) / 1000;
  const calls = after.calls - before.calls;
  const texts = after.texts - before.texts;
  const padded = (after.paddedTokens ?? 0) - (before.paddedTokens ?? 0);
  const real = (after.realTokens ?? 0) - (before.realTokens ?? 0);
  return {
    sentencesPerSecond: texts / seconds,
    meanBatchSize: calls === 0 ? 0 : texts / calls,
    busyShare: (after.busySeconds - before.busySeconds) / seconds,
    ...(after.paddedTokens !== undefined && padded > 0 ? { paddingEfficiency: real / padded } : {}),
  };
}
