// Real time: it judges the built server by latency thresholds (p95 < 300 ms) that other suites' load would break.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { arrivalRateAsLoad } from '../../bench/lib/k6-shape.js';
import { SMOKE_SHAPE } from '../../k6/lib/shapes.js';
import { SMOKE_THRESHOLDS } from '../../k6/lib/thresholds.js';
import { TEST_OUTPUT_DIR } from '../support/paths.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';

interface SmokeSummary {
  statuses: Record<string, number>;
  errors: number;
  thresholds: { metric: string; expression: string; passed: boolean }[];
  passed: boolean;
}

// `npm run load:smoke` against the built server with Redis, as the k6 workflow runs the smoke
// scenario: the same shape and thresholds, replayed with autocannon (about 10 s of load).
describe('npm run load:smoke', () => {
  let redis: RedisServer;
  let server: ServerProcess;

  beforeAll(async () => {
    redis = await startRedisServer();
    server = await startServerProcess('load-smoke', { REDIS_URL: redis.url, LOG_LEVEL: 'warn' });
  });

  afterAll(async () => {
    await server?.stop();
    await redis?.stop();
  });

  it('holds the smoke thresholds against a live server', async () => {
    const summaryFile = join(TEST_OUTPUT_DIR, 'k6', 'load-smoke-summary.json');
    const { stdout } = await promisify(execFile)(
      'npm',
      ['run', '--silent', 'load:smoke', '--', '--base-url', server.baseUrl, '--summary', summaryFile],
      { timeout: 45_000 },
    );
    expect(stdout).toMatch(/load smoke passed/);

    const summary = JSON.parse(readFileSync(summaryFile, 'utf8')) as SmokeSummary;
    expect(summary.passed).toBe(true);
    const expected = Object.entries(SMOKE_THRESHOLDS).flatMap(([metric, expressions]) =>
      expressions.map((expression) => ({ metric, expression, passed: true })),
    );
    expect(summary.thresholds).toEqual(expected.map((threshold) => expect.objectContaining(threshold)));
    expect(summary.errors).toBe(0);
    // The shape's rate for its duration, within generous bounds for a busy CI machine.
    const { rate, durationSeconds } = arrivalRateAsLoad(SMOKE_SHAPE);
    expect(summary.statuses['200']).toBeGreaterThanOrEqual(rate * durationSeconds * 0.5);
    expect(summary.statuses['200']).toBeLessThanOrEqual(rate * durationSeconds * 1.2);
    expect(Object.keys(summary.statuses)).toEqual(['200']);
  }, 60_000);
});
