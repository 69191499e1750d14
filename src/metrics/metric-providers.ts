import type { Counter, Gauge } from 'prom-client';
import { CacheStats, type CacheResult } from '../cache/cache-stats.js';
import { SETTINGS } from '../config/config.module.js';
import type { Settings } from '../config/settings.js';
import { Readiness } from '../health/readiness.js';
import { InferenceService } from '../inference/inference.service.js';
import { SentimentModel } from '../model/sentiment-model.service.js';
import { BREAKER_STATES, type BreakerState, type RedisConnection } from '../redis/redis-connection.js';
import { REDIS } from '../redis/redis.module.js';
import { InferenceMetrics } from './inference-metrics.js';
import { METRIC } from './metric-names.js';
import { counterProvider, gaugeProvider, histogramProvider } from './metrics-registry.js';

/** 1 ms to 10 s: a cached answer takes about a millisecond, a full 1000-text request seconds. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** 0.1 ms to 1 s: an in-memory lookup takes microseconds, Redis a millisecond, the timeout caps it. */
export const CACHE_OPERATION_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
/** Texts per model call, up to the largest request (MAX_BATCH_SIZE defaults to 1000). */
const BATCH_SIZE_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];
const CACHE_RESULTS: readonly CacheResult[] = ['hit', 'miss', 'error', 'bypass'];
/** The breaker state as a number, ordered by how far Redis is out of use. */
const BREAKER_STATE_VALUES: Record<BreakerState, number> = { closed: 0, 'half-open': 1, open: 2 };

export const METRIC_PROVIDERS = [
  counterProvider({
    name: METRIC.httpRequests,
    help: 'HTTP requests answered, by method, route template and status code (the /metrics route excluded).',
    labelNames: ['method', 'route', 'status'],
  }),
  histogramProvider({
    name: METRIC.httpRequestDuration,
    enableExemplars: true,
    help: 'Time from receiving an HTTP request to finishing its response, in seconds.',
    labelNames: ['method', 'route', 'status'],
    buckets: LATENCY_BUCKETS,
  }),
  counterProvider({ name: METRIC.modelCalls, help: 'Calls of the model (each classifies one batch of texts).' }),
  counterProvider({
    name: METRIC.modelCallFailures,
    help: 'Model calls that failed; each failed the requests of its batch with 503.',
  }),
  histogramProvider({
    name: METRIC.modelBatchSize,
    help: 'Texts classified per model call.',
    buckets: BATCH_SIZE_BUCKETS,
  }),
  histogramProvider({
    name: METRIC.modelCallDuration,
    enableExemplars: true,
    help: 'Duration of one model call (ONNX Runtime inference on token sequences), in seconds.',
    buckets: LATENCY_BUCKETS,
  }),
  counterProvider({
    name: METRIC.texts,
    help: 'Distinct texts of requests answered, by where the answer came from: the prediction cache or the model.',
    labelNames: ['source'],
    inject: [InferenceMetrics, CacheStats],
    collect(this: Counter, inference: InferenceMetrics, cache: CacheStats) {
      this.reset();
      this.inc({ source: 'model' }, inference.textsClassified);
      this.inc({ source: 'cache' }, cache.totals().hit);
    },
  }),
  gaugeProvider({
    name: METRIC.modelLoadDuration,
    help: 'Seconds it took to load and warm up the model; 0 until it is loaded.',
    inject: [SentimentModel],
    collect(this: Gauge, model: SentimentModel) {
      this.set((model.info?.loadTimeMs ?? 0) / 1000);
    },
  }),
  gaugeProvider({
    name: METRIC.modelInfo,
    help: 'Always 1, labelled with the model being served; absent until it is loaded.',
    labelNames: ['id', 'source', 'dtype', 'fingerprint'],
    inject: [SentimentModel],
    collect(this: Gauge, model: SentimentModel) {
      this.reset();
      const info = model.info;
      if (info) this.set({ id: info.id, source: info.source, dtype: info.dtype, fingerprint: info.fingerprint }, 1);
    },
  }),
  gaugeProvider({
    name: METRIC.ready,
    help: '1 while GET /health/ready answers 200 (model loaded, no shutdown begun), else 0.',
    inject: [Readiness],
    collect(this: Gauge, readiness: Readiness) {
      this.set(readiness.ready ? 1 : 0);
    },
  }),
  counterProvider({
    name: METRIC.cacheRequests,
    help: 'Distinct texts looked up in the prediction cache, by result: hit, miss, error (failed or timed out), bypass (cache known down).',
    labelNames: ['result'],
    inject: [CacheStats],
    collect(this: Counter, cache: CacheStats) {
      const totals = cache.totals();
      this.reset();
      for (const result of CACHE_RESULTS) this.inc({ result }, totals[result]);
    },
  }),
  histogramProvider({
    name: METRIC.cacheOperationDuration,
    enableExemplars: true,
    help: 'Duration of one call to the cache store (mget: look up a request, mset: store its misses), in seconds.',
    labelNames: ['operation'],
    buckets: CACHE_OPERATION_BUCKETS,
  }),
  counterProvider({
    name: METRIC.modelTokens,
    help:
      "Tokens the model computed, by kind: real (the texts' own) and padded (texts × longest sequence per call); " +
      'real / padded is the padding efficiency.',
    labelNames: ['kind'],
  }),
  gaugeProvider({
    name: METRIC.redisBreakerState,
    help: 'State of the Redis circuit breaker (cache and rate limits): 0 closed, 1 half-open (one trial call), 2 open (Redis skipped); 0 without REDIS_URL.',
    inject: [REDIS],
    collect(this: Gauge, redis: RedisConnection | null) {
      this.set(BREAKER_STATE_VALUES[redis?.breakerState ?? 'closed']);
    },
  }),
  counterProvider({
    name: METRIC.redisBreakerTransitions,
    help: 'Times the Redis circuit breaker changed state, by the state it entered (closed, half-open, open); none in a healthy run.',
    labelNames: ['to'],
    inject: [REDIS],
    collect(this: Counter, redis: RedisConnection | null) {
      this.reset();
      if (!redis) return;
      const transitions = redis.transitions();
      for (const to of BREAKER_STATES) this.inc({ to }, transitions[to]);
    },
  }),
  counterProvider({
    name: METRIC.modelWorkerRestarts,
    help:
      'Restarts of the model worker (crashed, wedged past its call deadline, or failed to reload) and of the ' +
      'tokenizer worker (crashed); none in a healthy run.',
    inject: [SentimentModel],
    collect(this: Counter, model: SentimentModel) {
      this.reset();
      this.inc(model.restarts);
    },
  }),
  gaugeProvider({
    name: METRIC.queueDepth,
    help: 'Texts waiting in the scheduler queue for a model call.',
    inject: [InferenceService],
    collect(this: Gauge, inference: InferenceService) {
      this.set(inference.scheduler.queuedTexts);
    },
  }),
  gaugeProvider({
    name: METRIC.queueTokens,
    help: 'Tokens of the texts waiting in the scheduler queue.',
    inject: [InferenceService],
    collect(this: Gauge, inference: InferenceService) {
      this.set(inference.scheduler.queuedTokens);
    },
  }),
  gaugeProvider({
    name: METRIC.queueCapacityTokens,
    help: 'Tokens the scheduler queue holds (QUEUE_MAX_TOKENS); past it requests are answered 503 at once.',
    inject: [SETTINGS],
    collect(this: Gauge, settings: Settings) {
      this.set(settings.queueMaxTokens);
    },
  }),
  counterProvider({
    name: METRIC.admissions,
    help:
      'Requests that needed the model, by outcome: admitted, or refused as over-capacity (503: not servable ' +
      'within REQUEST_TIMEOUT_MS now), queue-full (503: QUEUE_MAX_TOKENS) or too-costly (413: never servable in time).',
    labelNames: ['outcome'],
  }),
  counterProvider({
    name: METRIC.queueDrops,
    help: 'Queued texts taken out before their model call, by reason: deadline (REQUEST_TIMEOUT_MS) or cancelled (client hung up).',
    labelNames: ['reason'],
  }),
];
