import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import protobuf from 'protobufjs';

/**
 * The messages of opentelemetry-proto (collector/trace/v1, trace/v1, common/v1, resource/v1) that
 * an OTLP/HTTP trace export carries, with the upstream field numbers and types. The OpenTelemetry JS
 * packages no longer ship the .proto files or a generated decoder (otlp-transformer 0.2xx/0.30x has
 * a request encoder and a response decoder only), so the request is decoded from this schema.
 */
const OTLP_TRACE_SCHEMA = `
syntax = "proto3";
package otlp;

message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
message ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; string schema_url = 3; }
message Resource { repeated KeyValue attributes = 1; uint32 dropped_attributes_count = 2; }
message ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; string schema_url = 3; }
message InstrumentationScope { string name = 1; string version = 2; repeated KeyValue attributes = 3; }

message Span {
  bytes trace_id = 1;
  bytes span_id = 2;
  string trace_state = 3;
  bytes parent_span_id = 4;
  fixed32 flags = 16;
  string name = 5;
  int32 kind = 6;
  fixed64 start_time_unix_nano = 7;
  fixed64 end_time_unix_nano = 8;
  repeated KeyValue attributes = 9;
  uint32 dropped_attributes_count = 10;
  repeated Event events = 11;
  uint32 dropped_events_count = 12;
  repeated Link links = 13;
  uint32 dropped_links_count = 14;
  Status status = 15;
}
message Event { fixed64 time_unix_nano = 1; string name = 2; repeated KeyValue attributes = 3; }
message Link { bytes trace_id = 1; bytes span_id = 2; string trace_state = 3; repeated KeyValue attributes = 4; }
message Status { string message = 2; int32 code = 3; }

message AnyValue {
  oneof value {
    string string_value = 1;
    bool bool_value = 2;
    int64 int_value = 3;
    double double_value = 4;
    ArrayValue array_value = 5;
    KeyValueList kvlist_value = 6;
    bytes bytes_value = 7;
  }
}
message ArrayValue { repeated AnyValue values = 1; }
message KeyValueList { repeated KeyValue values = 1; }
message KeyValue { string key = 1; AnyValue value = 2; }
`;

const ExportTraceServiceRequest = protobuf
  .parse(OTLP_TRACE_SCHEMA, { keepCase: false })
  .root.lookupType('otlp.ExportTraceServiceRequest');

const SPAN_KINDS = ['UNSPECIFIED', 'INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'] as const;
const STATUS_CODES = ['UNSET', 'OK', 'ERROR'] as const;

export type SpanKind = (typeof SPAN_KINDS)[number];
export type Attributes = Record<string, unknown>;

/** A span as the service exported it, ids in hex. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  /** Absent on a trace's root span. */
  parentSpanId?: string;
  name: string;
  kind: SpanKind;
  startTimeUnixNano: bigint;
  endTimeUnixNano: bigint;
  attributes: Attributes;
  links: { traceId: string; spanId: string; attributes: Attributes }[];
  events: { name: string; attributes: Attributes }[];
  status: { code: (typeof STATUS_CODES)[number]; message: string };
  /** Resource attributes (`service.name`...) and the instrumentation scope that made the span. */
  resource: Attributes;
  scope: string;
}

export interface OtlpReceiver {
  /** For OTEL_EXPORTER_OTLP_ENDPOINT: the exporter appends /v1/traces. */
  readonly endpoint: string;
  /** Every span received so far, in arrival order. */
  readonly spans: readonly ReceivedSpan[];
  /** Export requests received (decoded or not), and their bytes. */
  readonly exports: { requests: number; bytes: number };
  /** Resolves with all spans once `predicate` holds for them; rejects after `timeoutMs` listing what came. */
  waitForSpans(predicate: (spans: readonly ReceivedSpan[]) => boolean, timeoutMs?: number): Promise<ReceivedSpan[]>;
  clear(): void;
  close(): Promise<void>;
}

export interface OtlpReceiverOptions {
  /**
   * false: answer and count exports without decoding them, a sink that takes as little CPU as it
   * can from the process it measures (benchmarks).
   */
  decode?: boolean;
}

/**
 * A real OTLP/HTTP trace receiver on a free loopback port: POST /v1/traces in protobuf
 * (`application/x-protobuf`, the SDK's default) or JSON (`application/json`), gzip or not, answered
 * 200 with an empty ExportTraceServiceResponse in the request's encoding. Metrics and logs exports
 * are accepted and ignored.
 */
export async function startOtlpReceiver({ decode = true }: OtlpReceiverOptions = {}): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const exports = { requests: 0, bytes: 0 };
  const waiters = new Set<() => void>();

  const server = createServer((request, response) => {
    void receive(request, response).catch((error: unknown) => {
      response.writeHead(400, { 'content-type': 'text/plain' }).end(String(error));
    });
  });

  async function receive(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const path = (request.url ?? '').split('?')[0];
    if (request.method !== 'POST' || !['/v1/traces', '/v1/metrics', '/v1/logs'].includes(path)) {
      response.writeHead(404).end();
      return;
    }
    const raw = Buffer.concat(chunks);
    const body = request.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
    const json = (request.headers['content-type'] ?? '').startsWith('application/json');
    if (path === '/v1/traces') {
      exports.requests += 1;
      exports.bytes += body.length;
      if (decode) {
        spans.push(...(json ? fromJson(body) : fromProtobuf(body)));
        for (const wake of waiters) wake();
      }
    }
    // An empty ExportTraceServiceResponse: no bytes in protobuf, `{}` in JSON.
    response.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' });
    response.end(json ? '{}' : undefined);
  }

  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    spans,
    exports,
    waitForSpans(predicate, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!predicate(spans)) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve([...spans]);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          const received = spans.map((span) => `${span.name} (${span.traceId.slice(0, 8)})`).join(', ');
          reject(new Error(`the spans waited for did not arrive in ${timeoutMs} ms; received: ${received || 'none'}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    clear() {
      spans.length = 0;
    },
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

/** The decoded request in the shape both encodings share once ids are hex and numbers are numbers. */
interface Loose {
  [key: string]: unknown;
}

function fromProtobuf(body: Buffer): ReceivedSpan[] {
  return spansOf(
    ExportTraceServiceRequest.toObject(ExportTraceServiceRequest.decode(body), {
      longs: String,
      bytes: Buffer,
      defaults: false,
    }),
  );
}

function fromJson(body: Buffer): ReceivedSpan[] {
  return spansOf(JSON.parse(body.toString('utf8')) as Loose);
}

const list = (value: unknown): Loose[] => (Array.isArray(value) ? (value as Loose[]) : []);
const text = (value: unknown): string => (typeof value === 'string' ? value : '');
/** Nanosecond times: a decimal string (protobuf fixed64 as read here, OTLP/JSON) or a number. */
const nanos = (value: unknown): bigint => BigInt(typeof value === 'string' || typeof value === 'number' ? value : 0);
/** Bytes (protobuf) or hex already (OTLP/JSON writes ids in hex); empty ids mean none. */
const hex = (value: unknown): string | undefined => {
  const id = Buffer.isBuffer(value) ? value.toString('hex') : typeof value === 'string' ? value : '';
  return id === '' ? undefined : id;
};

function spansOf(request: Loose): ReceivedSpan[] {
  return list(request.resourceSpans).flatMap((resourceSpans) => {
    const resource = attributesOf((resourceSpans.resource as Loose | undefined)?.attributes);
    return list(resourceSpans.scopeSpans).flatMap((scopeSpans) => {
      const scope = text((scopeSpans.scope as Loose | undefined)?.name);
      return list(scopeSpans.spans).map((span): ReceivedSpan => {
        const status = (span.status ?? {}) as Loose;
        return {
          traceId: hex(span.traceId) ?? '',
          spanId: hex(span.spanId) ?? '',
          parentSpanId: hex(span.parentSpanId),
          name: text(span.name),
          kind: SPAN_KINDS[Number(span.kind ?? 0)] ?? 'UNSPECIFIED',
          startTimeUnixNano: nanos(span.startTimeUnixNano),
          endTimeUnixNano: nanos(span.endTimeUnixNano),
          attributes: attributesOf(span.attributes),
          links: list(span.links).map((link) => ({
            traceId: hex(link.traceId) ?? '',
            spanId: hex(link.spanId) ?? '',
            attributes: attributesOf(link.attributes),
          })),
          events: list(span.events).map((event) => ({
            name: text(event.name),
            attributes: attributesOf(event.attributes),
          })),
          status: { code: STATUS_CODES[Number(status.code ?? 0)] ?? 'UNSET', message: text(status.message) },
          resource,
          scope,
        };
      });
    });
  });
}

function attributesOf(keyValues: unknown): Attributes {
  return Object.fromEntries(list(keyValues).map((kv) => [String(kv.key), valueOf(kv.value as Loose | undefined)]));
}

/** An AnyValue as plain JavaScript; int64 values as numbers (every attribute of ours fits). */
function valueOf(value: Loose | undefined): unknown {
  if (!value) return undefined;
  if ('stringValue' in value) return value.stringValue;
  if ('boolValue' in value) return value.boolValue;
  if ('intValue' in value) return Number(value.intValue);
  if ('doubleValue' in value) return Number(value.doubleValue);
  if ('arrayValue' in value) return list((value.arrayValue as Loose).values).map(valueOf);
  if ('kvlistValue' in value) return attributesOf((value.kvlistValue as Loose).values);
  if ('bytesValue' in value) return hex(value.bytesValue);
  return undefined;
}
