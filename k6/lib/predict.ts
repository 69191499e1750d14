// One predict request with its checks: the iteration every scenario runs.
import { check, fail, sleep } from 'k6';
import http from 'k6/http';
import { Counter } from 'k6/metrics';
import { predictChecks, type CheckOptions } from './checks.ts';
import { API_KEY, BASE_URL, PAYLOAD } from './env.ts';
import { PayloadGenerator } from './payload.ts';

// Module state is per VU in k6: each VU numbers its own unique texts from a random start.
const payload = new PayloadGenerator(PAYLOAD);

/** Sent with every request when API_KEY is set: a service with API_KEYS answers 401 without it. */
const AUTHORIZATION: Record<string, string> = API_KEY === '' ? {} : { Authorization: `Bearer ${API_KEY}` };

/**
 * Requests the per-client rate limit refused (429): they fail the status check like any other
 * error, and this count in the end-of-test summary says the limiter, not the service, refused them.
 */
const rateLimited = new Counter('rate_limited_requests');

export function predict(options: CheckOptions): void {
  const body = payload.body();
  const response = http.post(`${BASE_URL}/v1/sentiment/predict`, JSON.stringify(body), {
    headers: { 'Content-Type': 'application/json', ...AUTHORIZATION },
    tags: { name: 'predict' },
  });
  if (response.status === 429) rateLimited.add(1);
  const results = predictChecks(
    response.status,
    typeof response.body === 'string' ? response.body : null,
    body.text.length,
    options,
  );
  check(results, Object.fromEntries(Object.keys(results).map((name) => [name, () => results[name]])));
}

/** Under overload a 503 is the service shedding load as designed, so k6 must not count it as failed. */
export function acceptShedding(): void {
  http.setResponseCallback(http.expectedStatuses({ min: 200, max: 399 }, 503));
}

/**
 * The readiness check goes through `/v1`, the only prefix a public Ingress exposes (the AKS overlay
 * routes nothing else; `/health/ready` stays inside the cluster). `GET /v1/model` answers 503 until
 * the model is loaded, and needs the key like every `/v1` route.
 */
export const READINESS_PATH = '/v1/model';
/** Seconds `setup()` waits for a loading model: polled once a second, within k6's 60 s setupTimeout. */
export const READINESS_POLLS = 45;

/** `setup()` of every scenario: waits while the model loads; a service that cannot serve would only produce noise. */
export function requireReady(): void {
  const url = `${BASE_URL}${READINESS_PATH}`;
  for (let poll = 1; ; poll++) {
    const response = http.get(url, {
      headers: AUTHORIZATION,
      tags: { name: 'readiness' },
      // A 503 while the model loads is the wait, not a failed request of the run.
      responseCallback: http.expectedStatuses(200, 503),
    });
    if (response.status === 200) return;
    if (response.status === 401) fail(`${url} answered 401: set API_KEY to one of the service's API_KEYS`);
    if (response.status !== 503) fail(`${url} answered ${response.status}; start the service first`);
    if (poll >= READINESS_POLLS) fail(`${url} still answered 503 after ${poll} polls: the model is not ready`);
    sleep(1);
  }
}
