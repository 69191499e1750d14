import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { lingerLimitBytes, LINGER_MS } from '../../src/http/lingering-close.js';
import { TEST_OUTPUT_DIR } from '../support/paths.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';

/**
 * A body over MAX_BODY_BYTES sent without waiting (no `Expect: 100-continue`): the server answers
 * 413 while the client is still writing, and the client must read that answer, not EPIPE or
 * ECONNRESET. Each client sends twice the limit, ROUNDS times, on the built server.
 */
const LIMIT = 2 * 1024 * 1024;
const ROUNDS = 50;
const PATH = '/v1/sentiment/predict';

/** Twice the limit, shaped like a predict body (it is refused on size before it is parsed). */
const BODY = Buffer.from(`{"text":["${'x'.repeat(2 * LIMIT - 14)}"]}`);
const PIECE = 64 * 1024;
/** More than the client's send and the server's receive buffer hold together (Linux: tcp_wmem, tcp_rmem). */
const SOCKET_BUFFERS = 48 * 1024 * 1024;
/** Each client's ROUNDS must be done within this; rounds past it count as failures. */
const ROUNDS_WITHIN_MS = 60_000;
const PAST_DEADLINE: Outcome = { status: 0, error: `not sent: ${ROUNDS_WITHIN_MS} ms were up` };

interface Outcome {
  /** The HTTP status read, 0 when none was. */
  status: number;
  /** `status` of the problem+json body read. */
  problemStatus?: number;
  /** What went wrong before the whole answer was read. */
  error?: string;
}

const isProblem413 = (outcome: Outcome) => outcome.status === 413 && outcome.problemStatus === 413;

function problemStatusOf(text: string): number | undefined {
  try {
    return (JSON.parse(text) as { status?: number }).status;
  } catch {
    return undefined;
  }
}

/** Node's http client: writes the whole body in pieces (chunked, or with its Content-Length), never waiting. */
function nodeUpload(server: ServerProcess, framing: 'chunked' | 'content-length'): Promise<Outcome> {
  const { port } = new URL(server.baseUrl);
  return new Promise((resolve) => {
    const headers: Record<string, string | number> = { 'content-type': 'application/json' };
    if (framing === 'content-length') headers['content-length'] = BODY.length;
    const req = request({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: PATH,
      headers,
      agent: false,
      timeout: 10_000,
    });
    let answered = false;
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        answered = true;
        resolve({ status: res.statusCode ?? 0, problemStatus: problemStatusOf(Buffer.concat(chunks).toString()) });
      });
      res.on('error', (error: NodeJS.ErrnoException) => resolve({ status: res.statusCode ?? 0, error: error.code }));
    });
    // After the whole answer, an error on the rest of the upload is the client's own business.
    req.on('error', (error: NodeJS.ErrnoException) => answered || resolve({ status: 0, error: error.code }));
    req.on('timeout', () => req.destroy(new Error('timeout')));
    for (let at = 0; at < BODY.length; at += PIECE) req.write(BODY.subarray(at, at + PIECE));
    req.end();
  });
}

const run = promisify(execFile);

async function curlUploads(server: ServerProcess, file: string): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  const deadline = performance.now() + ROUNDS_WITHIN_MS;
  for (let i = 0; i < ROUNDS; i++) {
    if (performance.now() > deadline) {
      outcomes.push(PAST_DEADLINE);
      continue;
    }
    // `Expect:` (empty) keeps curl from asking for 100-continue before a large body: it sends at once.
    const args = ['-sS', '--max-time', '10', '--data-binary', `@${file}`, '-H', 'Content-Type: application/json'];
    args.push('-H', 'Transfer-Encoding: chunked', '-H', 'Expect:', '-w', '\n%{http_code}', `${server.baseUrl}${PATH}`);
    try {
      const { stdout } = await run('curl', args, { timeout: 15_000, killSignal: 'SIGKILL' });
      const split = stdout.lastIndexOf('\n');
      outcomes.push({
        status: Number(stdout.slice(split + 1)),
        problemStatus: problemStatusOf(stdout.slice(0, split)),
      });
    } catch (error) {
      const failed = error as { stderr?: string; message: string };
      outcomes.push({ status: 0, error: (failed.stderr || failed.message).trim() });
    }
  }
  return outcomes;
}

/** Python's http.client sends the whole body before it reads the answer: the case that needs the longest linger. */
const PYTHON_UPLOADS = `
import http.client, json, sys, time
port, rounds, size, framing, within_ms = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
deadline = time.monotonic() + within_ms / 1000
body = b'{"text":["' + b'x' * (size - 14) + b'"]}'
def pieces():
    for at in range(0, len(body), 65536):
        yield body[at:at + 65536]
for _ in range(rounds):
    outcome = {'status': 0}
    if time.monotonic() > deadline:
        print(json.dumps({'status': 0, 'error': 'not sent: %d ms were up' % within_ms}), flush=True)
        continue
    try:
        connection = http.client.HTTPConnection('127.0.0.1', port, timeout=10)
        headers = {'Content-Type': 'application/json'}
        if framing == 'chunked':
            connection.request('POST', '${PATH}', body=pieces(), headers=headers, encode_chunked=True)
        else:
            connection.request('POST', '${PATH}', body=body, headers=headers)
        response = connection.getresponse()
        outcome['status'] = response.status
        outcome['problemStatus'] = json.loads(response.read()).get('status')
        connection.close()
    except Exception as error:
        outcome['error'] = type(error).__name__ + ': ' + str(error)
    print(json.dumps(outcome), flush=True)
`;

async function pythonUploads(server: ServerProcess, framing: 'chunked' | 'content-length'): Promise<Outcome[]> {
  const { port } = new URL(server.baseUrl);
  const args = ['-c', PYTHON_UPLOADS, port, String(ROUNDS), String(BODY.length), framing, String(ROUNDS_WITHIN_MS)];
  const { stdout } = await run('python3', args, { timeout: ROUNDS_WITHIN_MS + 15_000, killSignal: 'SIGKILL' });
  return stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Outcome);
}

async function nodeUploads(server: ServerProcess, framing: 'chunked' | 'content-length'): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  const deadline = performance.now() + ROUNDS_WITHIN_MS;
  for (let i = 0; i < ROUNDS; i++) {
    outcomes.push(performance.now() > deadline ? PAST_DEADLINE : await nodeUpload(server, framing));
  }
  return outcomes;
}

/** Every round read the whole 413 problem: the failures are listed, so a miss shows what happened. */
function expectAllAnswered(outcomes: Outcome[]): void {
  expect(outcomes).toHaveLength(ROUNDS);
  expect(outcomes.filter((outcome) => !isProblem413(outcome))).toEqual([]);
}

interface RawUpload {
  socket: Socket;
  /** Resolves with everything received once the 413's whole answer is in. */
  answered: Promise<string>;
  /** Resolves with performance.now() when the server has closed the connection. */
  closed: Promise<number>;
  /** Everything received so far. */
  received(): string;
}

/**
 * A raw connection that sends the headers (and `body`) of an upload, reading whatever comes back.
 * Half-open allowed: the server's FIN does not end this side, the test does.
 */
function rawUpload(server: ServerProcess, head: string, body: Buffer | string = ''): RawUpload {
  const { port } = new URL(server.baseUrl);
  const socket = connect({ port: Number(port), host: '127.0.0.1', allowHalfOpen: true });
  let received = '';
  let onAnswer: (text: string) => void = () => undefined;
  let onNoAnswer: (error: Error) => void = () => undefined;
  const answered = new Promise<string>((resolve, reject) => {
    onAnswer = resolve;
    onNoAnswer = reject;
  });
  socket.on('data', (chunk: Buffer) => {
    received += chunk.toString('latin1');
    const length = /\r\ncontent-length: *(\d+)/i.exec(received)?.[1];
    const split = received.indexOf('\r\n\r\n');
    if (length !== undefined && split !== -1 && received.length >= split + 4 + Number(length)) onAnswer(received);
  });
  socket.on('error', () => undefined);
  const closed = new Promise<number>((resolve) =>
    socket.once('close', () => {
      onNoAnswer(new Error(`closed before the whole answer came; received: ${JSON.stringify(received.slice(0, 200))}`));
      resolve(performance.now());
    }),
  );
  socket.write(head);
  if (body.length > 0) socket.write(body);
  return { socket, answered, closed, received: () => received };
}

const chunkedHead = `POST ${PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`;
const chunk = (data: Buffer | string) => `${Buffer.byteLength(data).toString(16)}\r\n${data.toString()}\r\n`;

describe('a refused upload gets its answer read (built server, MAX_BODY_BYTES 2 MiB)', () => {
  let server: ServerProcess;
  let bodyFile: string;
  beforeAll(async () => {
    server = await startServerProcess('refused-upload', { MAX_BODY_BYTES: String(LIMIT), RATE_LIMIT_ENABLED: 'false' });
    const dir = join(TEST_OUTPUT_DIR, 'refused-upload');
    mkdirSync(dir, { recursive: true });
    bodyFile = join(dir, 'twice-the-limit.json');
    writeFileSync(bodyFile, BODY);
  });
  afterAll(async () => {
    await server?.stop();
  });

  describe(`chunked, twice the limit, ${ROUNDS} times: every client reads the 413 problem`, () => {
    it("Node's http client", async () => {
      expectAllAnswered(await nodeUploads(server, 'chunked'));
    }, 90_000);

    it('curl --data-binary with Transfer-Encoding: chunked', async () => {
      expectAllAnswered(await curlUploads(server, bodyFile));
    }, 90_000);

    it("Python's http.client", async () => {
      expectAllAnswered(await pythonUploads(server, 'chunked'));
    }, 90_000);
  });

  describe(`with a Content-Length over the limit (refused before a byte of the body is read), ${ROUNDS} times`, () => {
    it("Node's http client", async () => {
      expectAllAnswered(await nodeUploads(server, 'content-length'));
    }, 90_000);

    it("Python's http.client", async () => {
      expectAllAnswered(await pythonUploads(server, 'content-length'));
    }, 90_000);
  });

  describe('the lingering close is bounded', () => {
    it('closes as soon as the client ends its side', async () => {
      const upload = rawUpload(server, chunkedHead, chunk(BODY.subarray(0, LIMIT + 1)));
      expect(await upload.answered).toMatch(/^HTTP\/1\.1 413 [^]*\r\nconnection: close\r\n/i);
      const endedAt = performance.now();
      upload.socket.end();
      expect((await upload.closed) - endedAt).toBeLessThan(LINGER_MS / 2);
    });

    it(`closes after ${LINGER_MS} ms a connection the client keeps open`, async () => {
      const head = `POST ${PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${2 * LIMIT}\r\n\r\n`;
      const upload = rawUpload(server, head, '{"text":["');
      await upload.answered;
      const answeredAt = performance.now();
      // A byte now and then: the client is neither done nor gone.
      const drip = setInterval(() => upload.socket.write('x'), 100);
      const closedAt = await upload.closed;
      clearInterval(drip);
      expect(closedAt - answeredAt).toBeGreaterThan(LINGER_MS / 2);
      expect(closedAt - answeredAt).toBeLessThan(LINGER_MS + 3000);
    });

    it('closes a client that goes on sending, having read a bounded amount', async () => {
      const upload = rawUpload(server, chunkedHead);
      const piece = chunk(BODY.subarray(0, PIECE));
      let sent = 0;
      const send = () => {
        while (!upload.socket.destroyed && sent < 1024 * LIMIT) {
          sent += piece.length;
          if (!upload.socket.write(piece)) return void upload.socket.once('drain', send);
        }
      };
      send();
      await upload.answered;
      await upload.closed;
      // The limit, what is drained after the answer, and what the two sockets' buffers hold.
      expect(sent).toBeLessThan(LIMIT + lingerLimitBytes(LIMIT) + SOCKET_BUFFERS);
    }, 30_000);

    it('reads what follows the answer as bytes, not HTTP: a request sent behind the body is never seen', async () => {
      const upload = rawUpload(server, chunkedHead, chunk(BODY.subarray(0, LIMIT + 1)));
      await upload.answered;
      await sleep(100);
      upload.socket.end(chunk(BODY.subarray(0, PIECE)) + chunk('') + 'GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n');
      await upload.closed;
      expect(upload.received().match(/^HTTP\/1\.1 /gm)).toEqual(['HTTP/1.1 ']);
      // Nothing else asks for /health/live: had the server parsed the request, it would have logged it.
      await sleep(500);
      expect(readFileSync(server.logFile, 'utf8')).not.toContain('"path":"/health/live"');
    });
  });
});
