import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LoadSamples, ResponseSample } from '../../bench/lib/http-load.js';
import { arrivalRateAsLoad, k6DurationSeconds } from '../../bench/lib/k6-shape.js';
import { evaluateThresholds, parseExpression } from '../../bench/lib/k6-thresholds.js';
import { predictChecks } from '../../k6/lib/checks.js';
import { SMOKE_SHAPE } from '../../k6/lib/shapes.js';
import * as thresholdSets from '../../k6/lib/thresholds.js';

/** Responses with durations 1..n ms, all 200 unless overridden. */
function samples(count: number, overrides: Partial<ResponseSample>[] = [], extra: Partial<LoadSamples> = {}) {
  const responses: ResponseSample[] = Array.from({ length: count }, (_, i) => ({
    status: 200,
    ms: i + 1,
    texts: 1,
    ...overrides[i],
  }));
  return { responses, errors: 0, checksPassed: count, checksFailed: 0, elapsedSeconds: 10, ...extra };
}

const steady = { allowShedding: false };

describe('k6 thresholds evaluated on autocannon measurements (npm run load:smoke)', () => {
  it('computes latency percentiles the way the expression asks', () => {
    const [p95, p99, avg, max] = evaluateThresholds(
      { http_req_duration: ['p(95)<96', 'p(99)<99', 'avg<50', 'max<=100'] },
      samples(100),
      steady,
    );
    expect(p95.value).toBeCloseTo(95.05, 5);
    expect(p95.passed).toBe(true);
    expect(p99.value).toBeCloseTo(99.01, 5);
    expect(p99.passed).toBe(false);
    expect(avg.value).toBe(50.5);
    expect(avg.passed).toBe(false);
    expect(max).toMatchObject({ value: 100, passed: true });
  });

  it('counts non-2xx answers and requests without an answer as failed', () => {
    const twoErrors = samples(100, [{ status: 500 }], { errors: 1 });
    const [result] = evaluateThresholds({ http_req_failed: ['rate<0.01'] }, twoErrors, steady);
    expect(result.value).toBeCloseTo(2 / 101, 10);
    expect(result.passed).toBe(false);
    const [clean] = evaluateThresholds({ http_req_failed: ['rate<0.01'] }, samples(100), steady);
    expect(clean).toMatchObject({ value: 0, passed: true });
  });

  it('treats 503 as expected only in overload scenarios, and filters by status tag', () => {
    const shedding = samples(10, [
      { status: 503, ms: 70 },
      { status: 503, ms: 2 },
    ]);
    expect(evaluateThresholds({ http_req_failed: ['rate<0.01'] }, shedding, steady)[0].passed).toBe(false);
    const overload = evaluateThresholds(thresholdSets.OVERLOAD_THRESHOLDS, shedding, { allowShedding: true });
    expect(overload.find((r) => r.metric === 'http_req_failed')?.passed).toBe(true);
    const shed = overload.find((r) => r.metric === 'http_req_duration{status:503}');
    expect(shed?.value).toBeCloseTo(2 + (70 - 2) * 0.99, 5);
    expect(shed?.passed).toBe(false);
    const [expectedOnly] = evaluateThresholds(
      { 'http_req_duration{expected_response:false}': ['max<100'] },
      shedding,
      steady,
    );
    expect(expectedOnly.value).toBe(70);
  });

  it('rates checks like k6 does', () => {
    const [result] = evaluateThresholds(
      { checks: ['rate>0.99'] },
      samples(10, [], { checksPassed: 98, checksFailed: 2 }),
      steady,
    );
    expect(result).toMatchObject({ value: 0.98, passed: false });
  });

  it('fails loudly on expressions, metrics or tags it cannot evaluate instead of skipping them', () => {
    expect(() => parseExpression('p99<5')).toThrow(/unsupported threshold expression/);
    expect(() => evaluateThresholds({ iteration_duration: ['p(95)<5'] }, samples(5), steady)).toThrow(/metric/);
    expect(() => evaluateThresholds({ 'http_req_duration{name:x}': ['p(95)<5'] }, samples(5), steady)).toThrow(/tag/);
    expect(() => evaluateThresholds({ http_req_failed: ['p(95)<5'] }, samples(5), steady)).toThrow(/rate metric/);
  });

  it('can evaluate every threshold the k6 scenarios use', () => {
    for (const set of [
      thresholdSets.STEADY_THRESHOLDS,
      thresholdSets.SMOKE_THRESHOLDS,
      thresholdSets.OVERLOAD_THRESHOLDS,
    ]) {
      expect(() => evaluateThresholds(set, samples(20), { allowShedding: true })).not.toThrow();
    }
  });
});

describe('the k6 smoke scenario as autocannon parameters', () => {
  it('reads k6 durations', () => {
    expect(k6DurationSeconds('10s')).toBe(10);
    expect(k6DurationSeconds('1m30s')).toBe(90);
    expect(k6DurationSeconds('500ms')).toBe(0.5);
    expect(() => k6DurationSeconds('10 seconds')).toThrow(/not a k6 duration/);
  });

  it('replays the smoke shape: its rate, its duration, its VUs as connections', () => {
    expect(arrivalRateAsLoad(SMOKE_SHAPE)).toEqual({
      rate: SMOKE_SHAPE.rate / k6DurationSeconds(SMOKE_SHAPE.timeUnit),
      durationSeconds: k6DurationSeconds(SMOKE_SHAPE.duration),
      connections: SMOKE_SHAPE.maxVUs,
    });
  });

  it('is what k6/scenarios/smoke.ts runs, so the k6 run and the runner cannot drift apart', () => {
    const script = readFileSync(join(process.cwd(), 'k6', 'scenarios', 'smoke.ts'), 'utf8');
    expect(script).toMatch(/scenarios:\s*\{\s*smoke:\s*SMOKE_SHAPE\s*\}/);
    expect(script).toMatch(/thresholds:\s*SMOKE_THRESHOLDS\b/);
  });
});

describe('response checks shared by k6 and the runner', () => {
  const body = (predictions: unknown) => JSON.stringify({ model: 'm', predictions });
  const pair = [
    { label: 'POSITIVE', score: 0.75 },
    { label: 'NEGATIVE', score: 0.25 },
  ];

  it('passes a 200 with one well-formed prediction per text', () => {
    const checks = predictChecks(200, body([pair, pair]), 2, { allowShedding: false });
    expect(Object.values(checks)).toEqual([true, true]);
  });

  it('fails a wrong prediction count, scores that do not sum to 1, or a body that is not JSON', () => {
    expect(Object.values(predictChecks(200, body([pair]), 2, steady))).toEqual([true, false]);
    const skewed = [
      { label: 'POSITIVE', score: 0.9 },
      { label: 'NEGATIVE', score: 0.2 },
    ];
    expect(Object.values(predictChecks(200, body([skewed]), 1, steady))).toEqual([true, false]);
    expect(Object.values(predictChecks(200, 'not json', 1, steady))).toEqual([true, false]);
  });

  it('accepts a 503 only when the scenario expects load shedding', () => {
    expect(Object.values(predictChecks(503, '{}', 1, { allowShedding: false }))).toEqual([false, false]);
    expect(Object.values(predictChecks(503, '{}', 1, { allowShedding: true }))).toEqual([true, true]);
    expect(Object.values(predictChecks(500, '{}', 1, { allowShedding: true }))).toEqual([false, false]);
  });
});
