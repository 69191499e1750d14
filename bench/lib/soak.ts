/**
 * The soak: a long mixed load on a running service while its own /metrics are sampled, judged
 * by two limits: resident memory must not keep growing once warmed up, and the event loop must
 * stay responsive; and nothing may have gone wrong on the way (failed requests, Redis circuit
 * breaker transitions). Used by `npm run soak` (bench/soak.ts) and, shortened, by test/soak.
 */
import type { PayloadOptions } from '../../k6/lib/payload.js';
import type { ModelDtype } from '../../src/config/settings.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { scrapeMetrics, sumOf } from '../../test/support/prometheus-text.js';
import { PREDICT_PATH, runLoad } from './http-load.js';
import { summarizeLoad, type LoadSummary } from './load-summary.js';
import { peakRssMiB, startBenchServer, startOwnRedis, waitUntilDrained } from './service.js';
import { summarize } from './stats.js';

/** RSS at the end may exceed RSS right after warm-up by at most this share. */
export const MAX_RSS_GROWTH = 0.1;
/** Every sampled event-loop lag p99 must stay below this. */
export const MAX_EVENT_LOOP_LAG_P99_MS = 50;
/** Samples averaged for the RSS after warm-up and at the end, so one GC does not decide. */
const RSS_WINDOW_SAMPLES = 3;
/** Requests per second of malformed bodies (422s) mixed into the load. */
const INVALID_REQUESTS_PER_SECOND = 2;

export interface SoakOptions {
  baseUrl: string;
  durationSeconds: number;
  /** Load before the RSS reference is taken: caches, JIT and heaps settle first. */
  warmupSeconds: number;
  /** Requests per second over all streams. */
  rate: number;
  sampleEverySeconds: number;
  log?: (message: string) => void;
}

/** The mix: everyday one-text calls, some batches, and repeat texts answered from the cache. */
const STREAMS: { name: string; share: number; payload: PayloadOptions }[] = [
  { name: 'one text, half cached', share: 0.65, payload: { batchSize: 1, cacheHitRatio: 0.5, poolSize: 1000 } },
  { name: '8 texts, half cached', share: 0.1, payload: { batchSize: 8, cacheHitRatio: 0.5, poolSize: 1000 } },
  { name: 'one cached text', share: 0.25, payload: { batchSize: 1, cacheHitRatio: 1, poolSize: 100 } },
];

export interface SoakSample {
  atSeconds: number;
  rssMiB: number;
  heapUsedMiB: number;
  eventLoopLagP99Ms: number;
}

export interface SoakCheck {
  name: string;
  measured: number;
  limit: number;
  passed: boolean;
}

/** Times the Redis circuit breaker entered each state (sentiment_redis_breaker_transitions_total). */
export type BreakerTransitions = Record<'closed' | 'half-open' | 'open', number>;

export interface SoakResult {
  options: Omit<SoakOptions, 'log'>;
  samples: SoakSample[];
  streams: { name: string; rate: number; payload: PayloadOptions; summary: LoadSummary }[];
  /** Malformed bodies sent, and how many were answered 422 as the contract says. */
  invalid: { sent: number; answered422: number };
  rss: { afterWarmupMiB: number; endMiB: number; peakMiB: number; growth: number };
  eventLoopLagP99Ms: { max: number; median: number };
  /** Breaker transitions during the soak: a healthy Redis never opens it. */
  breakerTransitions: BreakerTransitions;
  /** Model worker restarts during the soak (sentiment_model_worker_restarts_total): none when healthy. */
  workerRestarts: number;
  checks: SoakCheck[];
  passed: boolean;
}

const MIB = 1024 * 1024;

/**
 * One scrape of the service's process metrics. prom-client resets its event-loop histogram at
 * every scrape, so the p99 covers the time since the previous sample.
 */
async function sample(baseUrl: string, atSeconds: number): Promise<SoakSample> {
  const exposition = await scrapeMetrics(baseUrl);
  return {
    atSeconds,
    rssMiB: sumOf(exposition, 'process_resident_memory_bytes') / MIB,
    heapUsedMiB: sumOf(exposition, 'nodejs_heap_size_used_bytes') / MIB,
    eventLoopLagP99Ms: sumOf(exposition, 'nodejs_eventloop_lag_p99_seconds') * 1000,
  };
}

async function workerRestarts(baseUrl: string): Promise<number> {
  return sumOf(await scrapeMetrics(baseUrl), 'sentiment_model_worker_restarts_total');
}

async function breakerTransitions(baseUrl: string): Promise<BreakerTransitions> {
  const exposition = await scrapeMetrics(baseUrl);
  const count = (to: string) => sumOf(exposition, 'sentiment_redis_breaker_transitions_total', { to });
  return { closed: count('closed'), 'half-open': count('half-open'), open: count('open') };
}

/** Bodies the contract rejects with 422, so error paths run as long as the happy ones. */
async function sendInvalid(baseUrl: string, until: number, counts: SoakResult['invalid']): Promise<void> {
  const bodies = ['{"text":[]}', '{"text":"not a list"}', '{"text":[1,2]}', '{"texts":["typo"]}'];
  while (performance.now() < until) {
    const response = await fetch(`${baseUrl}${PREDICT_PATH}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: bodies[counts.sent % bodies.length],
    });
    await response.arrayBuffer();
    counts.sent++;
    if (response.status === 422) counts.answered422++;
    await sleep(1000 / INVALID_REQUESTS_PER_SECOND);
  }
}

export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const { baseUrl, durationSeconds, warmupSeconds, rate, sampleEverySeconds } = options;
  const log = options.log ?? (() => undefined);
  if (warmupSeconds + RSS_WINDOW_SAMPLES * 2 * sampleEverySeconds > durationSeconds) {
    throw new Error(
      `a ${durationSeconds} s soak leaves too few samples after a ${warmupSeconds} s warm-up at one per ${sampleEverySeconds} s`,
    );
  }
  const transitionsBefore = await breakerTransitions(baseUrl);
  const restartsBefore = await workerRestarts(baseUrl);
  const started = performance.now();
  const streams = STREAMS.map((stream) => {
    const streamRate = Math.max(1, rate * stream.share);
    return {
      ...stream,
      rate: streamRate,
      // Enough connections that a slow moment does not lower the offered rate.
      run: runLoad({
        baseUrl,
        durationSeconds,
        connections: Math.max(4, Math.ceil(streamRate / 5)),
        rate: streamRate,
        payload: stream.payload,
        allowShedding: false,
      }),
    };
  });
  const invalid = { sent: 0, answered422: 0 };
  const invalidLoop = sendInvalid(baseUrl, started + durationSeconds * 1000, invalid);

  const samples: SoakSample[] = [];
  for (let at = sampleEverySeconds; at <= durationSeconds; at += sampleEverySeconds) {
    await sleep(started + at * 1000 - performance.now());
    const taken = await sample(baseUrl, at);
    samples.push(taken);
    log(
      `${String(at).padStart(5)} s  RSS ${taken.rssMiB.toFixed(0)} MiB  heap ${taken.heapUsedMiB.toFixed(0)} MiB  ` +
        `event-loop lag p99 ${taken.eventLoopLagP99Ms.toFixed(1)} ms`,
    );
  }
  const summaries = (await Promise.all(streams.map((stream) => stream.run))).map((samples) => summarizeLoad(samples));
  await invalidLoop;
  const transitionsAfter = await breakerTransitions(baseUrl);
  const transitions: BreakerTransitions = {
    closed: transitionsAfter.closed - transitionsBefore.closed,
    'half-open': transitionsAfter['half-open'] - transitionsBefore['half-open'],
    open: transitionsAfter.open - transitionsBefore.open,
  };
  const transitionCount = transitions.closed + transitions['half-open'] + transitions.open;
  const restarts = (await workerRestarts(baseUrl)) - restartsBefore;

  const afterWarmup = samples.filter((s) => s.atSeconds > warmupSeconds);
  const afterWarmupMiB = summarize(afterWarmup.slice(0, RSS_WINDOW_SAMPLES).map((s) => s.rssMiB)).mean;
  const endMiB = summarize(afterWarmup.slice(-RSS_WINDOW_SAMPLES).map((s) => s.rssMiB)).mean;
  const growth = endMiB / afterWarmupMiB - 1;
  const lags = summarize(samples.map((s) => s.eventLoopLagP99Ms));
  const failedRequests = summaries.reduce(
    (total, summary) => total + summary.errors + (summary.statuses['503'] ?? 0) + summary.checks.failed,
    0,
  );
  const checks: SoakCheck[] = [
    { name: 'RSS growth after warm-up', measured: growth, limit: MAX_RSS_GROWTH, passed: growth <= MAX_RSS_GROWTH },
    {
      name: 'event-loop lag p99, worst sample (ms)',
      measured: lags.max,
      limit: MAX_EVENT_LOOP_LAG_P99_MS,
      passed: lags.max < MAX_EVENT_LOOP_LAG_P99_MS,
    },
    { name: 'failed requests', measured: failedRequests, limit: 0, passed: failedRequests === 0 },
    {
      name: 'Redis circuit breaker transitions',
      measured: transitionCount,
      limit: 0,
      passed: transitionCount === 0,
    },
    { name: 'model worker restarts', measured: restarts, limit: 0, passed: restarts === 0 },
    {
      name: 'malformed bodies not answered 422',
      measured: invalid.sent - invalid.answered422,
      limit: 0,
      passed: invalid.sent > 0 && invalid.sent === invalid.answered422,
    },
  ];
  return {
    options: { baseUrl, durationSeconds, warmupSeconds, rate, sampleEverySeconds },
    samples,
    streams: streams.map(({ name, rate: streamRate, payload }, i) => ({
      name,
      rate: streamRate,
      payload,
      summary: summaries[i],
    })),
    invalid,
    rss: { afterWarmupMiB, endMiB, peakMiB: Math.max(...samples.map((s) => s.rssMiB)), growth },
    eventLoopLagP99Ms: { max: lags.max, median: lags.p50 },
    breakerTransitions: transitions,
    workerRestarts: restarts,
    checks,
    passed: checks.every((check) => check.passed),
  };
}

export interface OwnServiceSoakOptions extends Omit<SoakOptions, 'baseUrl' | 'rate'> {
  modelDir: string;
  modelId: string;
  dtype: ModelDtype;
  /** Share of the measured capacity offered as the soak's request rate. */
  load: number;
}

export interface OwnServiceSoakResult extends SoakResult {
  /** Uncached one-text requests per second the service answered with 8 in flight. */
  capacity: number;
  /** Peak RSS of the server process over its whole life (VmHWM). */
  peakRssMiB: number;
}

/**
 * Soaks a service of its own: the built server as production runs it, with its own Redis for
 * the cache and the rate limiter (a limit nobody reaches, so the limiter's memory counts too).
 */
export async function soakOwnService(options: OwnServiceSoakOptions): Promise<OwnServiceSoakResult> {
  const log = options.log ?? (() => undefined);
  const redis = await startOwnRedis();
  const { server } = await startBenchServer('soak', {
    modelDir: options.modelDir,
    modelId: options.modelId,
    dtype: options.dtype,
    redisUrl: redis.url,
    extraEnv: { RATE_LIMIT_ENABLED: 'true', RATE_LIMIT_PER_MINUTE: '1000000' },
  });
  try {
    const closedLoop = await runLoad({
      baseUrl: server.baseUrl,
      durationSeconds: 5,
      connections: 8,
      payload: { batchSize: 1, cacheHitRatio: 0, poolSize: 1 },
      allowShedding: true,
    });
    const capacity = summarizeLoad(closedLoop).requestsPerSecond;
    await waitUntilDrained(server.baseUrl);
    const rate = capacity * options.load;
    log(`capacity ${capacity.toFixed(0)} requests/s; soaking at ${rate.toFixed(0)} requests/s`);
    const result = await runSoak({ ...options, baseUrl: server.baseUrl, rate });
    return { ...result, capacity, peakRssMiB: peakRssMiB(server.child.pid!) };
  } finally {
    await server.stop();
    await redis.stop();
  }
}
