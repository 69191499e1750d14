// npm run load:smoke -- [--base-url http://127.0.0.1:8000] [--batch-size 1] [--cache-hit-ratio 0.5]
//                       [--pool-size 100] [--summary file.json]
// Replays the k6 smoke scenario (k6/lib/shapes.ts SMOKE_SHAPE) with autocannon against a running
// service and applies the same thresholds (k6/lib/thresholds.ts SMOKE_THRESHOLDS), so the
// users' k6 CI and this project's CI judge the service alike. Exits 1 when a threshold fails.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { checkPayloadOptions, DEFAULT_PAYLOAD } from '../k6/lib/payload.js';
import { SMOKE_SHAPE } from '../k6/lib/shapes.js';
import { SMOKE_THRESHOLDS } from '../k6/lib/thresholds.js';
import { runLoad } from './lib/http-load.js';
import { arrivalRateAsLoad } from './lib/k6-shape.js';
import { evaluateThresholds } from './lib/k6-thresholds.js';
import { summarize } from './lib/stats.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'base-url': { type: 'string', default: 'http://127.0.0.1:8000' },
      'batch-size': { type: 'string', default: String(DEFAULT_PAYLOAD.batchSize) },
      'cache-hit-ratio': { type: 'string', default: String(DEFAULT_PAYLOAD.cacheHitRatio) },
      'pool-size': { type: 'string', default: String(DEFAULT_PAYLOAD.poolSize) },
      summary: { type: 'string' },
    },
    strict: true,
  });
  const baseUrl = values['base-url'].replace(/\/+$/, '');
  const payload = checkPayloadOptions({
    batchSize: Number(values['batch-size']),
    cacheHitRatio: Number(values['cache-hit-ratio']),
    poolSize: Number(values['pool-size']),
  });

  // Like the k6 scripts' setup(): a service that is not ready would only produce noise.
  const ready = await fetch(`${baseUrl}/health/ready`).catch((error: Error) => error);
  if (ready instanceof Error || ready.status !== 200) {
    const answer = ready instanceof Error ? ready.message : `status ${ready.status}`;
    throw new Error(`${baseUrl}/health/ready is not ready (${answer}); start the service first`);
  }

  const shape = arrivalRateAsLoad(SMOKE_SHAPE);
  console.log(
    `load smoke: ${shape.rate} requests/s for ${shape.durationSeconds} s, at most ${shape.connections} in flight, ` +
      `${payload.batchSize} text(s) per request, cache-hit ratio ${payload.cacheHitRatio} → ${baseUrl}`,
  );
  const samples = await runLoad({ baseUrl, ...shape, payload, allowShedding: false });
  const results = evaluateThresholds(SMOKE_THRESHOLDS, samples, { allowShedding: false });

  const statuses: Record<string, number> = {};
  for (const { status } of samples.responses) statuses[status] = (statuses[status] ?? 0) + 1;
  const latency = summarize(samples.responses.map((response) => response.ms));
  console.log(
    `requests: ${samples.responses.length + samples.errors} (statuses ${JSON.stringify(statuses)}, ` +
      `${samples.errors} without answer); latency ms p50 ${latency.p50.toFixed(1)}, ` +
      `p95 ${latency.p95.toFixed(1)}, p99 ${latency.p99.toFixed(1)}`,
  );
  for (const result of results) {
    const value = Number.isInteger(result.value) ? result.value : result.value.toFixed(3);
    console.log(`${result.passed ? '✓' : '✗'} ${result.metric} ${result.expression} (measured ${value})`);
  }
  const passed = results.every((result) => result.passed);
  if (values.summary) {
    mkdirSync(dirname(values.summary), { recursive: true });
    const summary = { shape, payload, statuses, errors: samples.errors, latency, thresholds: results, passed };
    writeFileSync(values.summary, `${JSON.stringify(summary, null, 2)}\n`);
  }
  console.log(passed ? 'load smoke passed' : 'load smoke FAILED: thresholds not met');
  if (!passed) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
