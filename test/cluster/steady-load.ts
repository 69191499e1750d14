// Steady load, from a process of its own: POSTs one text per request to --url at a fixed --rate
// (open loop: a slow answer does not slow the sending), until --max-requests are sent, --max-seconds
// pass or SIGTERM arrives; then waits for the answers and prints a LoadReport as JSON on stdout
// (after a first line, `started`).
// Half the texts come from a small pool (cache hits), half are new (the model answers them).
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { predictChecks } from '../../k6/lib/checks.js';
import type { LoadReport } from './load-report.js';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    rate: { type: 'string' },
    'max-seconds': { type: 'string' },
    'max-requests': { type: 'string' },
    'timeout-ms': { type: 'string', default: '10000' },
  },
});
const url = values.url;
const rate = Number(values.rate);
const maxSeconds = Number(values['max-seconds']);
const maxRequests = Number(values['max-requests']);
const timeoutMs = Number(values['timeout-ms']);
if (!url || !(rate > 0) || !(maxSeconds > 0) || !(maxRequests > 0) || !(timeoutMs > 0)) {
  process.stderr.write('usage: steady-load --url URL --rate N --max-seconds S --max-requests N [--timeout-ms MS]\n');
  process.exit(2);
}

/** Failures listed one by one (with their send time); past this many only counted. */
const LISTED_FAILURES = 1000;
const POOL = Array.from(
  { length: 40 },
  (_, i) => `steady pool text ${i}: the service was ${i % 2 === 0 ? 'wonderful' : 'awful'} today`,
);
const run = randomBytes(4).toString('hex');

const report: LoadReport = {
  sent: 0,
  statuses: {},
  errors: {},
  cache: {},
  badBodies: 0,
  failures: [],
  elapsedSeconds: 0,
  latencyMs: { p50: 0, p99: 0, max: 0 },
};
const latencies: number[] = [];

function failed(sentAt: number, what: string): void {
  if (report.failures.length < LISTED_FAILURES) report.failures.push({ sentAt, what });
}

async function send(index: number): Promise<void> {
  const text = index % 2 === 0 ? POOL[(index / 2) % POOL.length] : `steady new text ${run}-${index}: rather good`;
  const sentAt = Date.now();
  const started = performance.now();
  try {
    const response = await fetch(`${url}/v1/sentiment/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: [text] }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const body = await response.text();
    latencies.push(performance.now() - started);
    report.statuses[response.status] = (report.statuses[response.status] ?? 0) + 1;
    const cache = response.headers.get('x-cache') ?? 'none';
    report.cache[cache] = (report.cache[cache] ?? 0) + 1;
    if (response.status < 200 || response.status > 299) {
      failed(sentAt, `status ${response.status}`);
    } else if (!Object.values(predictChecks(response.status, body, 1, { allowShedding: false })).every(Boolean)) {
      report.badBodies += 1;
      failed(sentAt, 'malformed 2xx body');
    }
  } catch (error) {
    const cause = (error as Error & { cause?: { code?: string } }).cause;
    const kind = (error as Error).name === 'TimeoutError' ? 'timeout' : (cause?.code ?? (error as Error).message);
    report.errors[kind] = (report.errors[kind] ?? 0) + 1;
    failed(sentAt, `error ${kind}`);
  }
}

let stopping = false;
process.once('SIGTERM', () => (stopping = true));

// The parent waits for this line: from here on, SIGTERM ends the run with a report.
process.stdout.write('started\n');
const started = performance.now();
const inFlight = new Set<Promise<void>>();
const intervalMs = 1000 / rate;
while (!stopping && report.sent < maxRequests && performance.now() - started < maxSeconds * 1000) {
  const request = send(report.sent);
  inFlight.add(request);
  void request.finally(() => inFlight.delete(request));
  report.sent += 1;
  await sleep(Math.max(0, started + report.sent * intervalMs - performance.now()));
}
report.elapsedSeconds = (performance.now() - started) / 1000;
await Promise.all(inFlight);
latencies.sort((a, b) => a - b);
const quantile = (q: number) =>
  Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0);
report.latencyMs = { p50: quantile(0.5), p99: quantile(0.99), max: Math.round(latencies.at(-1) ?? 0) };
process.stdout.write(`${JSON.stringify(report)}\n`);
