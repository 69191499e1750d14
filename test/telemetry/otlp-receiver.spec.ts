import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter as ProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { SimpleSpanProcessor, TracerProvider, type SpanExporter } from '@opentelemetry/sdk-trace';
import { startOtlpReceiver, type OtlpReceiver } from '../support/otlp-receiver.js';

/**
 * The test receiver against the SDK's own OTLP/HTTP exporters, so a span the e2e tests look for is
 * decoded as the SDK encoded it, in both encodings the exporters speak.
 */
describe('test OTLP receiver (the SDK exporters send to it)', () => {
  let receiver: OtlpReceiver;
  beforeAll(async () => {
    receiver = await startOtlpReceiver();
  });
  afterAll(() => receiver.close());
  beforeEach(() => receiver.clear());

  async function exportTwoSpans(exporter: SpanExporter): Promise<{ parent: string; child: string; trace: string }> {
    const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
    const tracer: Tracer = provider.getTracer('receiver-test');
    const parent = tracer.startSpan('parent', { kind: SpanKind.SERVER, attributes: { 'http.route': '/x' } });
    const linked = tracer.startSpan('elsewhere');
    const child = tracer.startSpan(
      'child',
      {
        attributes: { 'batch.size': 3, ratio: 0.5, ok: true, names: ['a', 'b'] },
        links: [{ context: linked.spanContext() }],
      },
      // The parent given as the context, without a context manager.
      trace.setSpan(ROOT_CONTEXT, parent),
    );
    child.addEvent('queued', { position: 2 });
    child.setStatus({ code: SpanStatusCode.ERROR, message: 'boom' });
    child.end();
    parent.end();
    linked.end();
    await provider.forceFlush();
    await provider.shutdown();
    return {
      parent: parent.spanContext().spanId,
      child: child.spanContext().spanId,
      trace: parent.spanContext().traceId,
    };
  }

  it.each([
    ['protobuf', (url: string) => new ProtobufExporter({ url })],
    ['JSON', (url: string) => new JsonExporter({ url })],
  ])('decodes %s exports: ids, parent, kind, attributes, links, events, status', async (_encoding, exporter) => {
    const ids = await exportTwoSpans(exporter(`${receiver.endpoint}/v1/traces`));
    const spans = await receiver.waitForSpans((all) => all.length === 3, 5_000);
    const byName = Object.fromEntries(spans.map((span) => [span.name, span]));
    const linked = byName.elsewhere;

    expect(byName.parent).toEqual(
      expect.objectContaining({
        traceId: ids.trace,
        spanId: ids.parent,
        parentSpanId: undefined,
        kind: 'SERVER',
        attributes: { 'http.route': '/x' },
        scope: 'receiver-test',
      }),
    );
    expect(byName.parent.resource['service.name']).toEqual(expect.any(String));
    expect(byName.child).toEqual(
      expect.objectContaining({
        traceId: ids.trace,
        spanId: ids.child,
        parentSpanId: ids.parent,
        kind: 'INTERNAL',
        attributes: { 'batch.size': 3, ratio: 0.5, ok: true, names: ['a', 'b'] },
        links: [{ traceId: linked.traceId, spanId: linked.spanId, attributes: {} }],
        events: [{ name: 'queued', attributes: { position: 2 } }],
        status: { code: 'ERROR', message: 'boom' },
      }),
    );
    expect(byName.child.endTimeUnixNano).toBeGreaterThanOrEqual(byName.child.startTimeUnixNano);
    expect(receiver.exports.requests).toBeGreaterThan(0);
  });

  it('waitForSpans rejects after its timeout naming what did arrive', async () => {
    await expect(receiver.waitForSpans((spans) => spans.length > 0, 50)).rejects.toThrow(/received: none/);
  });
});
