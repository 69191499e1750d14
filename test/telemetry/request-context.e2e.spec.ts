import { connect, type AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { fastify, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createJsonLogger, requestLogger } from '../../src/http/json-logger.js';
import { requestIdOf, trackRequestContext } from '../../src/http/request-id.js';
import { SentimentModel } from '../../src/model/sentiment-model.service.js';
import request from 'supertest';
import { freshTexts } from '../cache/cache-test-helpers.js';
import { JobClient, ndjson } from '../jobs/job-client.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { FaultyModelWorkers } from '../support/model-workers.js';
import { createTestApp, testSettings } from '../support/test-app.js';
import { until } from '../support/until.js';

interface LogLine {
  msg?: string;
  requestId?: string;
  traceId?: string;
  context?: string;
  [field: string]: unknown;
}

/** A JSON logger whose lines the test reads. */
function capturedLogger() {
  const lines: LogLine[] = [];
  const stream = new PassThrough();
  let partial = '';
  stream.on('data', (chunk: Buffer) => {
    partial += chunk.toString('utf8');
    for (let end = partial.indexOf('\n'); end >= 0; end = partial.indexOf('\n')) {
      lines.push(JSON.parse(partial.slice(0, end)) as LogLine);
      partial = partial.slice(end + 1);
    }
  });
  return { logger: createJsonLogger('info', stream), lines };
}

const withMessage = (lines: LogLine[], msg: string) => lines.filter((line) => line.msg === msg);

/**
 * Issue #24, item 4: every line written while a request is handled carries its request id, from
 * wherever it is written, and no other line does. Tracing is off here (no SDK): no traceId.
 */
describe('request context on log lines', () => {
  describe('the app: a job submission logged deep in the jobs service, the chunk it queues scored outside any request', () => {
    let redis: RedisServer;
    let app: NestFastifyApplication;
    let jobs: JobClient;
    const { logger, lines } = capturedLogger();

    beforeAll(async () => {
      redis = await startRedisServer({ own: true });
      app = await createTestApp(
        testSettings({ REDIS_URL: redis.url, RATE_LIMIT_ENABLED: 'false', LOG_LEVEL: 'info' }),
        logger,
      );
      await app.get(SentimentModel).load();
      await app.listen(0, '127.0.0.1');
      const { port } = app.getHttpServer().address() as AddressInfo;
      jobs = new JobClient(`http://127.0.0.1:${port}`);
    });
    afterAll(async () => {
      await app?.close();
      await redis?.stop();
    });

    it('names the submitting request on `job submitted`, and no request on `job completed`', async () => {
      const submitted = await jobs.submit(ndjson(freshTexts(30, 'context')), { 'x-request-id': 'ctx-job-submit-1' });
      expect(submitted.status).toBe(202);
      const { id } = (await submitted.json()) as { id: string };
      expect(await jobs.waitForEnd(id, 60_000)).toMatchObject({ state: 'completed' });
      await until(() => withMessage(lines, 'job completed').some((line) => line.job === id), 10_000);

      const submission = withMessage(lines, 'job submitted').find((line) => line.job === id);
      expect(submission).toMatchObject({ context: 'Jobs', requestId: 'ctx-job-submit-1' });
      expect(submission).not.toHaveProperty('traceId');
      const completion = withMessage(lines, 'job completed').find((line) => line.job === id);
      expect(completion).toBeDefined();
      expect(completion).not.toHaveProperty('requestId');
    });

    it('writes the id once on Fastify’s own request lines, which carry it as a binding', () => {
      const requestLines = lines.filter((line) => line.msg === 'incoming request' || line.msg === 'request completed');
      expect(requestLines.length).toBeGreaterThan(0);
      for (const line of requestLines) expect(typeof line.requestId).toBe('string');
      const raw = JSON.stringify(requestLines[0]);
      expect(raw.split('"requestId"')).toHaveLength(2);
    });
  });

  describe('a model call: shared by requests, so its watchdog and the worker restart it sets off belong to none', () => {
    let app: NestFastifyApplication;
    const workers = new FaultyModelWorkers();
    const { logger, lines } = capturedLogger();

    beforeAll(async () => {
      app = await createTestApp(
        testSettings({
          RATE_LIMIT_ENABLED: 'false',
          LOG_LEVEL: 'info',
          MODEL_CALL_TIMEOUT_MS: '500',
          MODEL_RESTART_BACKOFF_MS: '50',
        }),
        logger,
        { startWorker: workers.start },
      );
      await app.get(SentimentModel).load();
    });
    afterAll(() => app?.close());

    it('writes the wedged call’s lines, and the restarted worker’s, without the id of the request that started the call', async () => {
      void workers.last!.hangNextCall();
      const hung = await request(app.getHttpServer())
        .post('/v1/sentiment/predict')
        .set('x-request-id', 'ctx-wedged-call-1')
        .send({ text: [`a wedged call ${Date.now()}`] });
      expect(hung.status).toBe(503);
      await until(() => withMessage(lines, 'model ready').length === 2, 15_000);

      // The request's own lines carry its id: the context was there to leak.
      expect(lines.some((line) => line.requestId === 'ctx-wedged-call-1')).toBe(true);
      const afterTheCall = [
        ...withMessage(lines, 'model worker stopped'),
        ...withMessage(lines, 'restarting the model worker'),
        ...withMessage(lines, 'model ready'),
      ];
      expect(afterTheCall.map((line) => line.msg)).toEqual([
        'model worker stopped',
        'restarting the model worker',
        'model ready',
        'model ready',
      ]);
      expect(afterTheCall.filter((line) => 'requestId' in line)).toEqual([]);
    });
  });

  describe('the hook on a bare Fastify server: a JSON body that arrives after it, read from the socket', () => {
    let server: FastifyInstance;
    let port: number;
    const { logger, lines } = capturedLogger();
    /** Request id → called once the server has run its onRequest hooks for it. */
    const hooksRan = new Map<string, () => void>();
    // Started before any request: its lines belong to none.
    let ticks = 0;
    const ticker = setInterval(() => logger.info({ msg: 'tick', tick: ++ticks }), 20);

    beforeAll(async () => {
      // As createAdapter builds it, for these three options.
      const loggerInstance: FastifyBaseLogger = logger;
      server = fastify({ loggerInstance, genReqId: requestIdOf, childLoggerFactory: requestLogger });
      trackRequestContext(server);
      server.addHook('onRequest', (request, _reply, done) => {
        hooksRan.get(request.id)?.();
        done();
      });
      server.post('/echo', async () => {
        // What a Nest logger in a service does: the shared logger, not the request's.
        logger.info({ msg: 'handled' });
        await new Promise((resolve) => setTimeout(resolve, 10));
        logger.info({ msg: 'after a timer' });
        return { ok: true };
      });
      await server.listen({ port: 0, host: '127.0.0.1' });
      port = (server.server.address() as AddressInfo).port;
    });
    afterAll(async () => {
      clearInterval(ticker);
      await server?.close();
    });

    /** The head first; the body once the hooks have run, so its bytes come from a later socket read. */
    async function postInTwoParts(id: string): Promise<string> {
      const body = JSON.stringify({ n: 1 });
      const socket = connect(port, '127.0.0.1');
      const answered = new Promise<string>((resolve) => {
        let received = '';
        socket.on('data', (chunk: Buffer) => {
          received += chunk.toString('utf8');
          if (received.includes('{"ok":true}')) resolve(received.split(' ')[1]);
        });
      });
      const ran = new Promise<void>((resolve) => hooksRan.set(id, resolve));
      socket.write(
        `POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n` +
          `Content-Length: ${body.length}\r\nX-Request-Id: ${id}\r\n\r\n`,
      );
      await ran;
      socket.write(body);
      const status = await answered;
      socket.destroy();
      return status;
    }

    it('keeps the context through the body parser and the handler, and leaves it with the request', async () => {
      expect(await Promise.all(['ctx-a', 'ctx-b', 'ctx-c'].map(postInTwoParts))).toEqual(['200', '200', '200']);
      const ticksAfter = ticks;
      await until(() => ticks > ticksAfter + 3, 5_000);

      expect(
        withMessage(lines, 'handled')
          .map((line) => line.requestId)
          .sort(),
      ).toEqual(['ctx-a', 'ctx-b', 'ctx-c']);
      expect(
        withMessage(lines, 'after a timer')
          .map((line) => line.requestId)
          .sort(),
      ).toEqual(['ctx-a', 'ctx-b', 'ctx-c']);
      const tickLines = withMessage(lines, 'tick');
      expect(tickLines.length).toBeGreaterThan(3);
      expect(tickLines.filter((line) => 'requestId' in line)).toEqual([]);
    });
  });
});
