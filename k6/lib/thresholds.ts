// Pass/fail criteria of every load scenario, in k6's threshold syntax. The k6 scripts put them in
// `options.thresholds`; bench/load-smoke.ts evaluates the same expressions on autocannon's
// measurements, so CI here and the users' k6 runs cannot disagree on what passing means.
// Durations are in milliseconds. Plain data without imports: k6 and Node load this same file.

/** Metric name (optionally with a `{tag:value}` filter) → threshold expressions. */
export type ThresholdSet = Record<string, string[]>;

/** Normal traffic (smoke, load, soak): no errors, bounded latency, every response well formed. */
export const STEADY_THRESHOLDS: ThresholdSet = {
  http_req_failed: ['rate<0.01'],
  http_req_duration: ['p(95)<300', 'p(99)<500'],
  checks: ['rate>0.99'],
};

/** The smoke scenario's criteria, which `npm run load:smoke` applies too. */
export const SMOKE_THRESHOLDS: ThresholdSet = STEADY_THRESHOLDS;

/**
 * Beyond capacity (stress, spike): the service may shed load, but only with fast 503s (the
 * scripts count 503 as an expected status), and what it serves still comes back within 1 s.
 */
export const OVERLOAD_THRESHOLDS: ThresholdSet = {
  http_req_failed: ['rate<0.01'],
  'http_req_duration{status:200}': ['p(99)<1000'],
  'http_req_duration{status:503}': ['p(99)<50'],
  checks: ['rate>0.99'],
};
