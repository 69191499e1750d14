import { context, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { TokenScheduler, type SubmitOptions, type TokenizedText } from '../../src/inference/token-scheduler.js';
import { SPAN } from '../../src/telemetry/spans.js';
import { ManualClock } from '../inference/manual-clock.js';

/**
 * The scheduler's spans where a step fails or is refused, on a manual clock: a refusal is the
 * admission's answer, not its failure; a failed model call and a deadline are failures; a client
 * that leaves is neither.
 */
describe("the token scheduler's spans", () => {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  const requestTracer = () => trace.getTracer('test');

  beforeAll(() => {
    // The API's globals live on globalThis; afterAll unregisters them so no other suite sees them.
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    trace.setGlobalTracerProvider(provider);
  });
  afterAll(async () => {
    await provider.shutdown();
    trace.disable();
    context.disable();
  });
  beforeEach(() => exporter.reset());

  /** One model call at a time, each failed or answered when the test says. */
  function setup(deadlineMs = 10_000) {
    const clock = new ManualClock();
    const calls: { fail(error: Error): void; answer(): void }[] = [];
    const scheduler = new TokenScheduler<number>(
      (sequences) =>
        new Promise((resolve, reject) =>
          calls.push({ fail: reject, answer: () => resolve(sequences.map((sequence) => sequence.length)) }),
        ),
      {
        maxBatchTokens: 64,
        maxBatchTexts: 2,
        windowMs: 0,
        maxConcurrentCalls: 1,
        maxQueueTokens: 1000,
        deadlineMs,
      },
      clock,
    );
    /** Submits within a request span of its own, as the HTTP instrumentation would have it. */
    const submit = (texts: TokenizedText[], options: SubmitOptions = {}) =>
      requestTracer().startActiveSpan('request', (span) => {
        const answer = scheduler.submit(texts, options);
        answer.catch(() => undefined);
        span.end();
        return { answer, spanId: span.spanContext().spanId };
      });
    return { clock, calls, submit };
  }
  const texts = (prefix: string, count: number, tokens = 8): TokenizedText[] =>
    Array.from({ length: count }, (_, i) => ({ key: `${prefix}${i}`, tokens: new Int32Array(tokens) }));
  const flush = () => new Promise((resolve) => setImmediate(resolve));
  const named = (name: string) => exporter.getFinishedSpans().filter((span) => span.name === name);

  it('records a refused admission as its decision, not as a failure, and queues nothing', async () => {
    const { submit } = setup(100);
    const { answer } = submit(texts('long', 1, 512));
    await expect(answer).rejects.toThrow();
    const [admission] = named(SPAN.admission);
    expect(admission.attributes).toMatchObject({
      'sentiment.admission.decision': 'refused',
      'sentiment.admission.reason': 'too-costly',
      'sentiment.admission.tokens': 512,
    });
    expect(admission.status.code).toBe(SpanStatusCode.UNSET);
    expect(named(SPAN.queueWait)).toEqual([]);
  });

  it('records a failed model call on its span, and on the queue wait of a request it failed early', async () => {
    const { calls, submit } = setup();
    // Three texts, two per call: the first call fails the request while its third text waits.
    const { answer, spanId } = submit(texts('a', 3));
    await flush();
    calls[0].fail(new Error('model worker exited with code 1'));
    await expect(answer).rejects.toThrow(/model failed/);

    const [call] = named(SPAN.modelCall);
    expect(call.status).toEqual({ code: SpanStatusCode.ERROR, message: 'model worker exited with code 1' });
    expect(call.attributes['error.type']).toBe('Error');
    expect(call.events.map((event) => event.name)).toEqual(['exception']);
    expect(call.links.map((link) => link.context.spanId)).toEqual([spanId]);
    const [queueWait] = named(SPAN.queueWait);
    expect(queueWait.parentSpanContext?.spanId).toBe(spanId);
    expect(queueWait.status.code).toBe(SpanStatusCode.ERROR);
    expect(queueWait.attributes).toMatchObject({ 'sentiment.queue.texts': 3, 'error.type': 'inference-failed' });
    expect(queueWait.links.map((link) => link.context.spanId)).toEqual([call.spanContext().spanId]);
  });

  it('ends the queue wait of a request past its deadline as failed, of one whose client left as dropped', async () => {
    const { clock, calls, submit } = setup(1000);
    submit(texts('running', 2));
    await flush();
    const late = submit(texts('late', 1));
    const controller = new AbortController();
    const gone = submit(texts('gone', 1), { signal: controller.signal });
    controller.abort();
    await expect(gone.answer).rejects.toThrow();
    clock.advance(1000);
    await expect(late.answer).rejects.toThrow(/REQUEST_TIMEOUT_MS/);
    calls[0].answer();
    await flush();

    const waits = named(SPAN.queueWait);
    const waitOf = (spanId: string) => waits.find((span) => span.parentSpanContext?.spanId === spanId)!;
    expect(waitOf(late.spanId).attributes['error.type']).toBe('request-timeout');
    expect(waitOf(late.spanId).status.code).toBe(SpanStatusCode.ERROR);
    expect(waitOf(gone.spanId).attributes['sentiment.queue.dropped']).toBe('cancelled');
    expect(waitOf(gone.spanId).status.code).toBe(SpanStatusCode.UNSET);
  });

  it('runs bulk work without an admission span, in calls of the bulk lane', async () => {
    const { calls, submit } = setup();
    const { answer, spanId } = submit(texts('bulk', 2), { priority: 'bulk' });
    await flush();
    calls[0].answer();
    await expect(answer).resolves.toEqual([8, 8]);
    expect(named(SPAN.admission)).toEqual([]);
    const [call] = named(SPAN.modelCall);
    expect(call.attributes).toMatchObject({
      'sentiment.model_call.lane': 'bulk',
      'sentiment.model_call.texts': 2,
      'sentiment.model_call.real_tokens': 16,
      'sentiment.model_call.padded_tokens': 16,
    });
    expect(call.links.map((link) => link.context.spanId)).toEqual([spanId]);
  });
});
