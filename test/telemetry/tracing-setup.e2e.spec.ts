import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { until } from '../support/until.js';

/** Reports, on the server's stderr, every SDK package the process loads (support/report-sdk-modules.mjs). */
const REPORT_SDK_MODULES = `--import=${join(process.cwd(), 'test', 'telemetry', 'support', 'report-sdk-modules.mjs')}`;
const SDK_MODULE_LINE = /^sdk module loaded: (.+)$/gm;

interface Export {
  path: string;
  contentType: string | undefined;
  body: Buffer;
}

/** The smallest OTLP/HTTP collector: records every POST and answers 200. */
async function startCollector(): Promise<{ endpoint: string; exports: Export[]; close(): Promise<void> }> {
  const exports: Export[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      exports.push({
        path: request.url ?? '',
        contentType: request.headers['content-type'],
        body: Buffer.concat(chunks),
      });
      response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    exports,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const sdkModulesLoaded = (server: ServerProcess) =>
  [...readFileSync(server.logFile, 'utf8').matchAll(SDK_MODULE_LINE)].map((match) => match[1]);

/** The server's JSON log lines (the probe's report lines are not JSON). */
const logLines = (server: ServerProcess) =>
  readFileSync(server.logFile, 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);

function predict(server: ServerProcess, headers: Record<string, string>): Promise<Response> {
  return fetch(`${server.baseUrl}/v1/sentiment/predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ text: ['tracing setup test'] }),
  });
}

/**
 * Issue #24, items 1, 3 and 4 as the built server does them (`node dist/main.js`: tracing starts
 * before the app is imported, which only a real process shows). The full trace structure is
 * traces.e2e.spec.ts's.
 */
describe('tracing set up by the OTEL_* variables (built server)', () => {
  describe('with an OTLP endpoint', () => {
    let collector: Awaited<ReturnType<typeof startCollector>>;
    let server: ServerProcess;

    beforeAll(async () => {
      collector = await startCollector();
      server = await startServerProcess('tracing-on', {
        OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint,
        OTEL_BSP_SCHEDULE_DELAY: '100',
        NODE_OPTIONS: REPORT_SDK_MODULES,
      });
    }, 60_000);
    afterAll(async () => {
      await server?.stop();
      await collector?.close();
    });

    it('continues the caller’s trace, answers its traceparent, exports it as OTLP protobuf and logs its ids', async () => {
      const traceId = randomBytes(16).toString('hex');
      const callerSpanId = randomBytes(8).toString('hex');
      const response = await predict(server, {
        traceparent: `00-${traceId}-${callerSpanId}-01`,
        'x-request-id': 'tracing-setup-req-1',
      });
      expect(response.status).toBe(200);
      const [version, answeredTraceId, serverSpanId, flags] = response.headers.get('traceparent')?.split('-') ?? [];
      expect({ version, answeredTraceId, flags }).toEqual({ version: '00', answeredTraceId: traceId, flags: '01' });
      expect(serverSpanId).toMatch(/^[0-9a-f]{16}$/);
      expect(serverSpanId).not.toBe(callerSpanId);

      // Spans come in batches: the server span, which records the request id, ends last.
      const traceIdBytes = Buffer.from(traceId, 'hex');
      const ofTrace = () => collector.exports.filter((sent) => sent.body.includes(traceIdBytes));
      const payload = () => Buffer.concat(ofTrace().map((sent) => sent.body));
      await until(() => payload().includes('tracing-setup-req-1'), 30_000);
      for (const sent of ofTrace())
        expect(sent).toMatchObject({ path: '/v1/traces', contentType: 'application/x-protobuf' });
      // The attribute's key beside its value; the whole payload is decoded by traces.e2e.spec.ts.
      expect(payload().includes('sentiment.request_id')).toBe(true);

      await until(
        () => logLines(server).some((line) => line.msg === 'request completed' && line.traceId === traceId),
        10_000,
      );
      const lines = logLines(server).filter((line) => line.requestId === 'tracing-setup-req-1');
      expect(lines.map((line) => line.msg)).toEqual(expect.arrayContaining(['incoming request', 'request completed']));
      for (const line of lines)
        expect(line).toMatchObject({ traceId, spanId: expect.stringMatching(/^[0-9a-f]{16}$/) });
      // The probe works: with tracing on it sees the SDK.
      expect(sdkModulesLoaded(server)).toEqual(
        expect.arrayContaining(['@opentelemetry/sdk-node', 'import-in-the-middle']),
      );
    });

    it('answers traceparent on a refusal at the edge too, exports no query string, and no trace for probes', async () => {
      const refused = await fetch(`${server.baseUrl}/v1/no-such-route?key=tracing-query-secret`);
      expect(refused.status).toBe(404);
      const traceparent = refused.headers.get('traceparent') ?? '';
      expect(traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      const traceIdBytes = Buffer.from(traceparent.split('-')[1], 'hex');
      const payload = () =>
        Buffer.concat(collector.exports.filter((sent) => sent.body.includes(traceIdBytes)).map((sent) => sent.body));
      // The server span (Fastify's request span) records the path, without the query string.
      await until(() => payload().includes('url.path') && payload().includes('/v1/no-such-route'), 30_000);
      expect(payload().includes('tracing-query-secret')).toBe(false);
      const probe = await fetch(`${server.baseUrl}/health/ready`);
      expect(probe.status).toBe(200);
      expect(probe.headers.get('traceparent')).toBeNull();
    });
  });

  describe('without one', () => {
    let server: ServerProcess;

    beforeAll(async () => {
      server = await startServerProcess('tracing-off', { NODE_OPTIONS: REPORT_SDK_MODULES });
    }, 60_000);
    afterAll(async () => {
      await server?.stop();
    });

    it('loads no module of the SDK, answers no traceparent, and logs no trace ids', async () => {
      const response = await predict(server, {
        traceparent: `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`,
        'x-request-id': 'tracing-off-req-1',
      });
      expect(response.status).toBe(200);
      expect(response.headers.get('traceparent')).toBeNull();
      const lines = () => logLines(server).filter((line) => line.requestId === 'tracing-off-req-1');
      await until(() => lines().some((line) => line.msg === 'request completed'), 10_000);
      expect(sdkModulesLoaded(server)).toEqual([]);
      expect(logLines(server).filter((line) => 'traceId' in line)).toEqual([]);
    });
  });
});
