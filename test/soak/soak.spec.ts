import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { soakOwnService, type OwnServiceSoakResult } from '../../bench/lib/soak.js';
import { baselineModelId } from '../../src/baseline-model/write-baseline-model.js';
import { TEST_MODELS_DIR, TEST_OUTPUT_DIR } from '../support/paths.js';

/** The short soak of `npm run soak` (which runs 10 minutes on the base baseline): same mix, same limits. */
const DURATION_SECONDS = 30;
const WARMUP_SECONDS = 10;
const SAMPLE_EVERY_SECONDS = 2;

describe(`a ${DURATION_SECONDS} s soak of mixed load at half capacity (the CI version of npm run soak)`, () => {
  let result: OwnServiceSoakResult;

  beforeAll(
    async () => {
      result = await soakOwnService({
        modelDir: TEST_MODELS_DIR,
        modelId: baselineModelId('tiny'),
        dtype: 'fp32',
        load: 0.5,
        durationSeconds: DURATION_SECONDS,
        warmupSeconds: WARMUP_SECONDS,
        sampleEverySeconds: SAMPLE_EVERY_SECONDS,
      });
      mkdirSync(TEST_OUTPUT_DIR, { recursive: true });
      writeFileSync(join(TEST_OUTPUT_DIR, 'soak-short.json'), `${JSON.stringify(result, null, 2)}\n`);
    },
    (DURATION_SECONDS + 60) * 1000,
  );

  it('sampled the service all along, under the planned load', () => {
    expect(result.samples).toHaveLength(DURATION_SECONDS / SAMPLE_EVERY_SECONDS);
    const answered = result.streams.reduce(
      (total, { summary }) => total + Object.values(summary.statuses).reduce((sum, count) => sum + count, 0),
      0,
    );
    expect(answered).toBeGreaterThan((result.options.rate * DURATION_SECONDS) / 2);
  });

  it('passes every soak check: RSS growth ≤ 10 %, event-loop lag p99 < 50 ms, no failed request or breaker transition, 422s', () => {
    expect(result.checks.filter((check) => !check.passed)).toEqual([]);
    expect(result.checks.map((check) => check.name)).toHaveLength(6);
  });

  it('never moved the Redis circuit breaker: a healthy Redis keeps it closed', () => {
    expect(result.breakerTransitions).toEqual({ closed: 0, 'half-open': 0, open: 0 });
    expect(result.workerRestarts).toBe(0);
  });
});
