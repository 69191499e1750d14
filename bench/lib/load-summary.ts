import type { LoadSamples } from './http-load.js';
import type { ModelActivity } from './model-metrics.js';
import { summarize, type LatencySummary } from './stats.js';

export interface LoadSummary {
  elapsedSeconds: number;
  /** Every answer by HTTP status: 200s, 503s and any other status alike. */
  statuses: Record<string, number>;
  /** Requests that got no answer (connection errors, timeouts). */
  noAnswer: number;
  /** Requests sent and finished within the window: answered (any status) plus unanswered. */
  requests: number;
  /** Share of `requests` answered 200 (0–1; 0 when there were none). */
  servedShare: number;
  /** Requests that were neither 200 nor 503, plus those without an answer. */
  errors: number;
  /** 200 answers per second. */
  requestsPerSecond: number;
  /** Texts classified per second (texts in 200 answers). */
  sentencesPerSecond: number;
  /** Real tokens (model tokenizer, [CLS]/[SEP] included) in 200 answers per second, when counted. */
  realTokensPerSecond?: number;
  /** Latency of every answer, of the 200s, and of the 503s, in milliseconds. */
  latency: { all: LatencySummary; served: LatencySummary; shed: LatencySummary };
  checks: { passed: number; failed: number };
  /** The model's side of the same window, when the service exposes /metrics. */
  model?: ModelActivity;
}

/** `realTokens`: the tokens of samples.servedTexts, counted by the caller outside the timed window. */
export function summarizeLoad(samples: LoadSamples, model?: ModelActivity, realTokens?: number): LoadSummary {
  const statuses: Record<string, number> = {};
  for (const { status } of samples.responses) statuses[status] = (statuses[status] ?? 0) + 1;
  const served = samples.responses.filter((response) => response.status === 200);
  const shed = samples.responses.filter((response) => response.status === 503);
  const texts = served.reduce((total, response) => total + response.texts, 0);
  const requests = samples.responses.length + samples.errors;
  return {
    elapsedSeconds: samples.elapsedSeconds,
    statuses,
    noAnswer: samples.errors,
    requests,
    servedShare: requests === 0 ? 0 : served.length / requests,
    errors: samples.responses.length - served.length - shed.length + samples.errors,
    requestsPerSecond: served.length / samples.elapsedSeconds,
    sentencesPerSecond: texts / samples.elapsedSeconds,
    ...(realTokens === undefined ? {} : { realTokensPerSecond: realTokens / samples.elapsedSeconds }),
    latency: {
      all: summarize(samples.responses.map((response) => response.ms)),
      served: summarize(served.map((response) => response.ms)),
      shed: summarize(shed.map((response) => response.ms)),
    },
    checks: { passed: samples.checksPassed, failed: samples.checksFailed },
    model,
  };
}

const count = (value: number) => value.toLocaleString('en-US');

/** Percent with one decimal, never rounded up to 100 when something was not served. */
export function percent(share: number): string {
  const tenths = Math.floor(share * 1000) / 10;
  return `${tenths.toFixed(1)} %`;
}

/**
 * Every answer by status and the unanswered, then the share served, e.g.
 * "200: 12,497 · 503: 72 · no answer: 3 · 99.4 % served". Nothing is left out of the count.
 */
export function describeStatuses(summary: Pick<LoadSummary, 'statuses' | 'noAnswer' | 'servedShare'>): string {
  const parts = Object.entries(summary.statuses)
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([status, n]) => `${status}: ${count(n)}`);
  if (summary.noAnswer > 0) parts.push(`no answer: ${count(summary.noAnswer)}`);
  if (parts.length === 0) parts.push('no requests');
  return `${parts.join(' · ')} · ${percent(summary.servedShare)} served`;
}
