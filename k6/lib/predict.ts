// One predict request with its checks: the iteration every scenario runs.
import { check, fail } from 'k6';
import http from 'k6/http';
import { predictChecks, type CheckOptions } from './checks.ts';
import { BASE_URL, PAYLOAD } from './env.ts';
import { PayloadGenerator } from './payload.ts';

// Module state is per VU in k6: each VU numbers its own unique texts from a random start.
const payload = new PayloadGenerator(PAYLOAD);

export function predict(options: CheckOptions): void {
  const body = payload.body();
  const response = http.post(`${BASE_URL}/v1/sentiment/predict`, JSON.stringify(body), {
    headers: { 'Content-Type': 'application/json' },
    tags: { name: 'predict' },
  });
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

/** `setup()` of every scenario: a service that is not ready would only produce noise. */
export function requireReady(): void {
  const response = http.get(`${BASE_URL}/health/ready`);
  if (response.status !== 200) fail(`${BASE_URL}/health/ready answered ${response.status}; start the service first`);
}
