import { context, trace, TraceFlags, type Context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { randomBytes } from 'node:crypto';
import { startTestApp, type TestApp } from '../support/test-app.js';

const PREDICT = '/v1/sentiment/predict';
/** What Prometheus 2.x sends when it scrapes. */
const PROMETHEUS_ACCEPT =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,' +
  'text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

/** `bucket line → trace id` for every exemplar of `metric` in an OpenMetrics exposition. */
function exemplars(exposition: string, metric: string): { line: string; traceId: string; value: number }[] {
  return exposition
    .split('\n')
    .filter((line) => line.startsWith(`${metric}_bucket{`) && line.includes(' # {'))
    .map((line) => {
      const match = / # \{trace_id="([0-9a-f]{32})"\} (\S+) \S+$/.exec(line);
      if (!match) throw new Error(`malformed exemplar: ${line}`);
      return { line, traceId: match[1], value: Number(match[2]) };
    });
}

/** A span context as an incoming request's trace would have it, active while `fn` runs. */
function inSpan<T>(sampled: boolean, fn: () => Promise<T>): { traceId: string; run: Promise<T> } {
  const traceId = randomBytes(16).toString('hex');
  const span = trace.wrapSpanContext({
    traceId,
    spanId: randomBytes(8).toString('hex'),
    traceFlags: sampled ? TraceFlags.SAMPLED : TraceFlags.NONE,
  });
  const active: Context = trace.setSpan(context.active(), span);
  return { traceId, run: context.with(active, fn) };
}

/**
 * The SDK is not started here: what it provides to the metrics is the active span, which this test
 * sets with the API's context manager around an in-process request (Fastify's inject runs the
 * request in the caller's async context).
 */
describe('latency exemplars on GET /metrics (real app, active span set by the test)', () => {
  let t: TestApp;
  const contextManager = new AsyncLocalStorageContextManager();

  beforeAll(async () => {
    context.setGlobalContextManager(contextManager.enable());
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.close();
    context.disable();
  });

  const predict = (texts: string[]) =>
    t.app.inject({ method: 'POST', url: PREDICT, payload: { text: texts } }).then((response) => {
      expect(response.statusCode).toBe(200);
    });
  const scrape = async (accept?: string) => {
    const response = await t.app.inject({ method: 'GET', url: '/metrics', headers: accept ? { accept } : {} });
    expect(response.statusCode).toBe(200);
    expect(response.headers.vary).toMatch(/accept/i);
    return { type: String(response.headers['content-type']), body: response.body };
  };

  it('a request handled in a sampled trace leaves its trace id on its latency bucket, in OpenMetrics only', async () => {
    const { traceId, run } = inSpan(true, () => predict([`exemplar ${Date.now()} sampled`]));
    await run;

    const open = await scrape(PROMETHEUS_ACCEPT);
    expect(open.type).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
    expect(open.body.endsWith('# EOF\n')).toBe(true);
    const found = exemplars(open.body, 'sentiment_http_request_duration_seconds').filter(
      (exemplar) => exemplar.traceId === traceId,
    );
    expect(found).toEqual([expect.objectContaining({ line: expect.stringContaining(`route="${PREDICT}"`) as string })]);
    expect(found[0].value).toBeGreaterThan(0);
    // The same request looked its text up in the cache and stored the miss, both in this trace.
    expect(exemplars(open.body, 'sentiment_cache_operation_duration_seconds').map((e) => e.traceId)).toContain(traceId);

    const plain = await scrape('text/plain');
    expect(plain.type).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(plain.body).not.toContain(traceId);
    expect(plain.body).not.toContain('# {');
    expect((await scrape()).type).toMatch(/^text\/plain; version=0\.0\.4/);
  });

  it('a request in an unsampled trace leaves no exemplar (that trace is never exported)', async () => {
    const { traceId, run } = inSpan(false, () => predict([`exemplar ${Date.now()} unsampled`]));
    await run;
    expect((await scrape(PROMETHEUS_ACCEPT)).body).not.toContain(traceId);
  });

  it('an OpenMetrics scrape leaves the Prometheus format as it was (counter names keep _total)', async () => {
    const before = (await scrape('text/plain')).body;
    await scrape(PROMETHEUS_ACCEPT);
    const after = (await scrape('text/plain')).body;
    const families = (body: string) => [...body.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => `${m[1]} ${m[2]}`);
    expect(families(after)).toEqual(families(before));
    expect(after).toMatch(/^# TYPE sentiment_http_requests_total counter$/m);
    expect(after).toMatch(/^sentiment_http_requests_total\{/m);

    const open = (await scrape(PROMETHEUS_ACCEPT)).body;
    // OpenMetrics names the counter family without the suffix its samples carry.
    expect(open).toMatch(/^# TYPE sentiment_http_requests counter$/m);
    expect(open).toMatch(/^sentiment_http_requests_total\{/m);
  });
});
