import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { jest } from '@jest/globals';
import { context, SpanKind, trace, type SpanContext } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace';
import request from 'supertest';
import { InferenceService } from '../../src/inference/inference.service.js';
import { SPAN, spanContextOf, traceparentOf } from '../../src/telemetry/spans.js';
import { freshTexts } from '../cache/cache-test-helpers.js';
import { JobClient, ndjson } from '../jobs/job-client.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { until } from '../support/until.js';

const KEY = 'own-spans-key-0123456789abcdef';
const PREDICT = '/v1/sentiment/predict';

/**
 * The service's own spans (issue #24, item 2) recorded in memory by an SDK registered here: the
 * in-process app on a real redis-server, one predict request, two requests sharing one model call,
 * and a bulk job. The HTTP instrumentation's server span is played by `traceRequests`.
 */
describe("the service's own spans (in-process app, in-memory exporter)", () => {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  let redis: RedisServer;
  let t: TestApp;
  let jobs: JobClient;

  beforeAll(async () => {
    // The API's globals live on globalThis; afterAll unregisters them so no other suite sees them.
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    trace.setGlobalTracerProvider(provider);
    redis = await startRedisServer();
    t = await startTestApp({ REDIS_URL: redis.url, API_KEYS: KEY, RATE_LIMIT_PER_MINUTE: '1000' });
    traceRequests(t.app.getHttpServer());
    await t.app.listen(0, '127.0.0.1');
    const { port } = t.app.getHttpServer().address() as AddressInfo;
    jobs = new JobClient(`http://127.0.0.1:${port}`, KEY);
  });
  afterAll(async () => {
    await t?.close();
    await redis?.stop();
    await provider.shutdown();
    trace.disable();
    context.disable();
  });
  beforeEach(() => exporter.reset());

  const spans = () => exporter.getFinishedSpans();
  const named = (name: string) => spans().filter((span) => span.name === name);
  const only = (name: string, within: ReadableSpan): ReadableSpan => {
    const found = named(name).filter((span) => span.spanContext().traceId === within.spanContext().traceId);
    expect(found).toHaveLength(1);
    return found[0];
  };
  /** The server spans of the requests to `path`, once `count` have ended (each ends once its response is sent). */
  const requestSpans = async (path: string, count: number): Promise<ReadableSpan[]> => {
    await until(() => named(`POST ${path}`).length >= count, 10_000);
    const found = named(`POST ${path}`);
    expect(found).toHaveLength(count);
    return found;
  };
  /** Sent at once (supertest sends only when awaited). */
  const predict = async (text: string[]) =>
    await request(t.app.getHttpServer()).post(PREDICT).set('X-API-Key', KEY).send({ text }).expect(200);

  it('traces a predict request: key check, rate limit, cache, tokenization, admission, queue wait, model call', async () => {
    const [cached, fresh] = freshTexts(2, 'traced');
    await predict([cached]);
    await predict([cached, fresh]);

    const root = (await requestSpans(PREDICT, 2)).find((span) => span.attributes['sentiment.request.texts'] === 2)!;
    expect(root.attributes).toMatchObject({ 'sentiment.request.texts': 2, 'sentiment.cache.status': 'PARTIAL' });
    const steps = [
      SPAN.auth,
      SPAN.rateLimit,
      SPAN.cacheLookup,
      SPAN.tokenize,
      SPAN.admission,
      SPAN.queueWait,
      SPAN.cacheWrite,
    ].map((name) => only(name, root));
    // Each step runs within the request: a child of its span, in its trace.
    for (const step of steps) expect(step.parentSpanContext?.spanId).toBe(root.spanContext().spanId);
    const [auth, rateLimit, lookup, tokenize, admission, queueWait, write] = steps;
    expect(auth.attributes).toEqual({
      'sentiment.auth.realm': 'sentiment-api',
      'sentiment.auth.decision': 'accepted',
      'sentiment.auth.key_sent': true,
    });
    expect(rateLimit.attributes).toEqual({
      'sentiment.rate_limit.budget': 'default',
      'sentiment.rate_limit.limit': 1000,
      'sentiment.rate_limit.remaining': expect.any(Number),
      'sentiment.rate_limit.outcome': 'allowed',
    });
    expect(lookup.attributes).toEqual({
      'sentiment.cache.backend': 'redis',
      'sentiment.cache.outcome': 'ok',
      'sentiment.cache.texts': 2,
      'sentiment.cache.hits': 1,
      'sentiment.cache.misses': 1,
    });
    const tokens = tokenize.attributes['sentiment.tokenize.tokens'] as number;
    expect(tokens).toBeGreaterThan(2);
    expect(tokenize.attributes).toEqual({
      'sentiment.tokenize.texts': 1,
      'sentiment.tokenize.tokens': tokens,
      'sentiment.tokenize.truncated': 0,
    });
    expect(admission.attributes).toMatchObject({
      'sentiment.admission.texts': 1,
      'sentiment.admission.tokens': tokens,
      'sentiment.admission.decision': 'admitted',
      'sentiment.admission.estimated_ms': expect.any(Number),
      'sentiment.admission.wait_ms': expect.any(Number),
      'sentiment.admission.limit_ms': 24_000,
    });
    expect(admission.attributes['sentiment.admission.reason']).toBeUndefined();
    expect(write.attributes).toEqual({
      'sentiment.cache.backend': 'redis',
      'sentiment.cache.outcome': 'ok',
      'sentiment.cache.entries': 1,
    });

    // The model call is a root span of its own trace, linked to the request's span; the queue
    // wait links to it and ends as it starts.
    const call = callLinkedTo(root.spanContext());
    expect(call.parentSpanContext).toBeUndefined();
    expect(call.spanContext().traceId).not.toBe(root.spanContext().traceId);
    expect(call.attributes).toEqual({
      'sentiment.model_call.lane': 'interactive',
      'sentiment.model_call.texts': 1,
      'sentiment.model_call.real_tokens': tokens,
      'sentiment.model_call.padded_tokens': tokens,
      'sentiment.model.dtype': 'fp32',
    });
    expect(call.links.map((link) => link.attributes)).toEqual([{ 'sentiment.model_call.request_texts': 1 }]);
    expect(queueWait.attributes).toEqual({ 'sentiment.queue.lane': 'interactive', 'sentiment.queue.texts': 1 });
    expect(queueWait.links.map((link) => link.context.spanId)).toEqual([call.spanContext().spanId]);
    expect(hrMs(queueWait.endTime)).toBeLessThanOrEqual(hrMs(call.startTime) + 1);

    // Neither the key nor a text is in any span.
    const recorded = JSON.stringify(spans().map((span) => span.attributes));
    for (const secret of [KEY, cached, fresh]) expect(recorded).not.toContain(secret);
  });

  it('links the one model call that serves two requests to both', async () => {
    // The model worker takes one call at a time (MAX_CONCURRENT_BATCHES=1): while a first call is
    // held, the texts of two requests queue up, and the next call takes both (same length).
    const [blocker, a, b] = freshTexts(3, 'shared call');
    const submitted = jest.spyOn(t.app.get(InferenceService).scheduler, 'submit');
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const classify = t.model.classifySequences.bind(t.model);
    const calls = jest
      .spyOn(t.model, 'classifySequences')
      .mockImplementationOnce(async (...args) => held.then(() => classify(...args)));
    try {
      const first = predict([blocker]);
      await until(() => calls.mock.calls.length === 1, 10_000);
      const both = Promise.all([predict([a]), predict([b])]);
      await until(() => submitted.mock.calls.length === 3, 10_000);
      release();
      await Promise.all([first, both]);
      expect(calls.mock.calls.map(([sequences]) => sequences.length)).toEqual([1, 2]);
    } finally {
      release();
      calls.mockRestore();
      submitted.mockRestore();
    }

    const requests = (await requestSpans(PREDICT, 3)).map((span) => span.spanContext());
    const [first, shared] = requests
      .map(callLinkedTo)
      .sort(
        (x, y) =>
          (x.attributes['sentiment.model_call.texts'] as number) -
          (y.attributes['sentiment.model_call.texts'] as number),
      );
    // Two requests' spans are linked from the shared call, the blocker's from a call of its own.
    expect(first.links).toHaveLength(1);
    expect(shared.attributes['sentiment.model_call.texts']).toBe(2);
    expect(shared.links.map((link) => link.context.spanId).sort()).toEqual(
      requests
        .map((span) => span.spanId)
        .filter((spanId) => spanId !== first.links[0].context.spanId)
        .sort(),
    );
    expect(shared.attributes['sentiment.model_call.padded_tokens']).toBe(
      shared.attributes['sentiment.model_call.real_tokens'],
    );
  });

  it("links a bulk job's chunk to the job's submission", async () => {
    const submitted = await jobs.submit(ndjson(freshTexts(3, 'traced job')));
    expect(submitted.status).toBe(202);
    const { id } = (await submitted.json()) as { id: string };
    await jobs.waitForEnd(id, 60_000);
    const [submission] = await requestSpans('/v1/sentiment/jobs', 1);

    await until(() => named(SPAN.jobChunk).length > 0, 10_000);
    const chunk = named(SPAN.jobChunk)[0];
    expect(chunk.attributes).toEqual({
      'sentiment.job.id': id,
      'sentiment.job.chunk': 0,
      'sentiment.job.attempt': 1,
      'sentiment.job.chunk.texts': 3,
      'sentiment.job.chunk.outcome': 'recorded',
    });
    expect(chunk.links.map((link) => link.context)).toEqual([{ ...submission.spanContext(), isRemote: true }]);
    // The chunk's work is its children; its model call links to it.
    for (const name of [SPAN.cacheLookup, SPAN.tokenize, SPAN.queueWait, SPAN.cacheWrite]) {
      expect(only(name, chunk).parentSpanContext?.spanId).toBe(chunk.spanContext().spanId);
    }
    expect(named(SPAN.admission).filter((span) => span.spanContext().traceId === chunk.spanContext().traceId)).toEqual(
      [],
    );
    expect(callLinkedTo(chunk.spanContext()).attributes['sentiment.model_call.lane']).toBe('bulk');
  });

  it('writes a span context as a W3C traceparent and reads it back', () => {
    const spanContext = { traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), traceFlags: 1 };
    const traceparent = traceparentOf(spanContext);
    expect(traceparent).toBe(`00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`);
    expect(spanContextOf(traceparent)).toEqual({ ...spanContext, isRemote: true });
    for (const bad of [undefined, '', 'junk', `00-${'0'.repeat(32)}-${'b'.repeat(16)}-01`]) {
      expect(spanContextOf(bad)).toBeUndefined();
    }
  });

  /** The model call linked to `spanContext` (exactly one). */
  function callLinkedTo(spanContext: SpanContext): ReadableSpan {
    const calls = named(SPAN.modelCall).filter((span) =>
      span.links.some((link) => link.context.spanId === spanContext.spanId),
    );
    expect(calls).toHaveLength(1);
    return calls[0];
  }
});

function hrMs([seconds, nanos]: [number, number]): number {
  return seconds * 1000 + nanos / 1e6;
}

/**
 * What the HTTP instrumentation does for every request, in brief: handles it within a server span
 * of its own, with the request's and response's events bound to it (Fastify reads the body in them).
 */
function traceRequests(server: Server): void {
  const tracer = trace.getTracer('test-http-server');
  const emit = server.emit.bind(server) as (event: string, ...args: unknown[]) => boolean;
  server.emit = ((event: string, ...args: unknown[]) => {
    if (event !== 'request') return emit(event, ...args);
    const [incoming, response] = args as [IncomingMessage, ServerResponse];
    const span = tracer.startSpan(`${incoming.method} ${incoming.url}`, { kind: SpanKind.SERVER });
    response.once('close', () => span.end());
    const active = trace.setSpan(context.active(), span);
    context.bind(active, incoming);
    context.bind(active, response);
    return context.with(active, () => emit(event, ...args));
  }) as Server['emit'];
}
