import type { LoadSamples } from './http-load.js';
import type { ModelActivity } from './model-metrics.js';
import { summarize, type LatencySummary } from './stats.js';

export interface LoadSummary {
  elapsedSeconds: number;
  /** Answers by HTTP status. */
  statuses: Record<string, number>;
  /** Requests that got no answer (connection errors, timeouts). */
  noAnswer: number;
  /** Requests that were neither 200 nor 503, plus those without an answer. */
  errors: number;
  /** 200 answers per second. */
  requestsPerSecond: number;
  /** Texts classified per second (texts in 200 answers). */
  sentencesPerSecond: number;
  /** Latency of every answer, of the 200s, and of the 503s, in milliseconds. */
  latency: { all: LatencySummary; served: LatencySummary; shed: LatencySummary };
  checks: { passed: number; failed: number };
  /** The model's side of the same window, when the service exposes /metrics. */
  model?: ModelActivity;
}

export function summarizeLoad(samples: LoadSamples, model?: ModelActivity): LoadSummary {
  const statuses: Record<string, number> = {};
  for (const { status } of samples.responses) statuses[status] = (statuses[status] ?? 0) + 1;
  const served = samples.responses.filter((response) => response.status === 200);
  const shed = samples.responses.filter((response) => response.status === 503);
  const texts = served.reduce((total, response) => total + response.texts, 0);
  return {
    elapsedSeconds: samples.elapsedSeconds,
    statuses,
    noAnswer: samples.errors,
    errors: samples.responses.length - served.length - shed.length + samples.errors,
    requestsPerSecond: served.length / samples.elapsedSeconds,
    sentencesPerSecond: texts / samples.elapsedSeconds,
    latency: {
      all: summarize(samples.responses.map((response) => response.ms)),
      served: summarize(served.map((response) => response.ms)),
      shed: summarize(shed.map((response) => response.ms)),
    },
    checks: { passed: samples.checksPassed, failed: samples.checksFailed },
    model,
  };
}
