/** Where Prometheus scrapes this service. */
export const METRICS_PATH = '/metrics';

/**
 * Every metric this service defines. The names are a public interface (dashboards and alerts in
 * deploy/monitoring, the metrics table of docs/OPERATING.md): change them only with those.
 */
export const METRIC = {
  httpRequests: 'sentiment_http_requests_total',
  httpRequestDuration: 'sentiment_http_request_duration_seconds',
  modelCalls: 'sentiment_model_calls_total',
  modelCallFailures: 'sentiment_model_call_failures_total',
  modelBatchSize: 'sentiment_model_batch_size',
  modelCallDuration: 'sentiment_model_call_duration_seconds',
  texts: 'sentiment_texts_total',
  modelLoadDuration: 'sentiment_model_load_duration_seconds',
  modelInfo: 'sentiment_model_info',
  ready: 'sentiment_ready',
  cacheRequests: 'sentiment_cache_requests_total',
  cacheOperationDuration: 'sentiment_cache_operation_duration_seconds',
  modelTokens: 'sentiment_model_tokens_total',
  modelWorkerRestarts: 'sentiment_model_worker_restarts_total',
  redisBreakerState: 'sentiment_redis_breaker_state',
  redisBreakerTransitions: 'sentiment_redis_breaker_transitions_total',
  queueDepth: 'sentiment_queue_depth',
  queueTokens: 'sentiment_queue_tokens',
  queueCapacityTokens: 'sentiment_queue_capacity_tokens',
  admissions: 'sentiment_admissions_total',
  queueDrops: 'sentiment_queue_drops_total',
  jobs: 'sentiment_jobs_total',
  jobChunks: 'sentiment_job_chunks',
  jobTexts: 'sentiment_job_texts_total',
  jobQueueAge: 'sentiment_job_queue_age_seconds',
} as const;
