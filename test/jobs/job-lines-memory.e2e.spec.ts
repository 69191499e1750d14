import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { maxLineBytes } from '../../src/jobs/job-lines.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';

/**
 * Bounded memory while a job's NDJSON is read (issue #22): one line far longer than any valid line
 * is refused with 422 as it streams in, without the server holding the line. UPLOADS concurrent
 * uploads of one LINE_BYTES line each, on the built server; its peak RSS may grow by less than
 * MAX_GROWTH_BYTES (holding the lines would take several times LINE_BYTES).
 */
const UPLOADS = 5;
const LINE_BYTES = 200 * 1024 * 1024;
const PIECE = Buffer.alloc(64 * 1024, 'a');
const MAX_GROWTH_BYTES = 100 * 1024 * 1024;
const UPLOAD_TIMEOUT_MS = 90_000;
const PATH = '/v1/sentiment/jobs';
const MAX_TEXT_CHARS = 10_000;

interface Outcome {
  /** The HTTP status read, 0 when none was. */
  status: number;
  contentType?: string;
  /** The answer's `Connection` header: `close`, the rest of the body being unread. */
  connection?: string;
  body?: { status?: number; detail?: string; errors?: { path: string; message: string }[] };
  /** What went wrong before the whole answer was read. */
  error?: string;
  /** Bytes of the body written before the answer came (or the upload ended). */
  written: number;
}

/** One `{"text":"aaa…"}` line of LINE_BYTES bytes, generated as it is sent (chunked): never held whole. */
function uploadLongLine(server: ServerProcess): Promise<Outcome> {
  const { port } = new URL(server.baseUrl);
  return new Promise((resolve) => {
    let written = 0;
    let settled = false;
    const settle = (outcome: Omit<Outcome, 'written'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...outcome, written });
      // The rest of the upload is not wanted any more: whatever the server does with it.
      req.destroy();
    };
    const req = request({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: PATH,
      headers: { 'content-type': 'application/x-ndjson' },
      agent: false,
    });
    const timer = setTimeout(() => settle({ status: 0, error: 'timeout' }), UPLOAD_TIMEOUT_MS);
    // The answer may come while the body is still being written: it is read all the same.
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let body: Outcome['body'];
        try {
          body = JSON.parse(text) as Outcome['body'];
        } catch {
          body = undefined;
        }
        settle({
          status: res.statusCode ?? 0,
          contentType: res.headers['content-type'],
          connection: res.headers.connection,
          body,
        });
      });
      res.on('error', (error: NodeJS.ErrnoException) =>
        settle({ status: res.statusCode ?? 0, error: error.code ?? error.message }),
      );
    });
    // EPIPE or ECONNRESET while writing: the answer may still be on its way (the server's lingering
    // close keeps it readable), so only a request error with no response counts, and only after a
    // moment for the response to be read.
    req.on('error', (error: NodeJS.ErrnoException) => {
      setTimeout(() => settle({ status: 0, error: error.code ?? error.message }), 2000).unref();
    });
    const write = async () => {
      const send = async (chunk: Buffer) => {
        written += chunk.length;
        if (!req.write(chunk)) {
          await new Promise<void>((drained) => {
            const done = () => {
              req.off('drain', done);
              req.off('close', done);
              drained();
            };
            req.on('drain', done);
            req.on('close', done);
          });
        }
      };
      const head = Buffer.from('{"text":"');
      const tail = Buffer.from('"}\n');
      await send(head);
      for (let left = LINE_BYTES - head.length - tail.length; left > 0 && !settled && !req.destroyed;) {
        const piece = left >= PIECE.length ? PIECE : PIECE.subarray(0, left);
        await send(piece);
        left -= piece.length;
      }
      if (settled || req.destroyed) return;
      await send(tail);
      req.end();
    };
    void write().catch(() => undefined);
  });
}

function procStatusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status);
  if (!match) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(match[1]);
}

describe('job NDJSON: bounded memory while reading (built server, real redis-server)', () => {
  let redis: RedisServer;
  let server: ServerProcess;

  beforeAll(async () => {
    redis = await startRedisServer({ own: true });
    server = await startServerProcess('job-lines-memory', {
      REDIS_URL: redis.url,
      RATE_LIMIT_ENABLED: 'false',
      MAX_TEXT_CHARS: String(MAX_TEXT_CHARS),
    });
  });
  afterAll(async () => {
    await server?.stop();
    await redis?.stop();
  });

  it(`${UPLOADS} concurrent uploads of a ${LINE_BYTES / 1024 / 1024} MB line: each 422, RSS grows < 100 MB`, async () => {
    const pid = server.child.pid!;
    // Warm the route up (a bad job is refused) so its first use does not count as growth.
    const warm = await fetch(`${server.baseUrl}${PATH}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson' },
      body: '{"text": 1}\n',
    });
    expect(warm.status).toBe(422);
    await warm.arrayBuffer();

    const before = procStatusKb(pid, 'VmRSS') * 1024;
    // Resets the peak (VmHWM) to the current RSS where the kernel allows it; sampling covers the rest.
    try {
      writeFileSync(`/proc/${pid}/clear_refs`, '5');
    } catch {
      // Sampling VmRSS alone then.
    }
    let sampled = before;
    const sampler = setInterval(() => {
      try {
        sampled = Math.max(sampled, procStatusKb(pid, 'VmRSS') * 1024);
      } catch {
        // The server is gone: the uploads will say so.
      }
    }, 50);
    let outcomes: Outcome[];
    try {
      outcomes = await Promise.all(Array.from({ length: UPLOADS }, () => uploadLongLine(server)));
      await sleep(200);
    } finally {
      clearInterval(sampler);
    }
    const exited = server.child.exitCode !== null || server.child.signalCode !== null;
    // VmHWM catches a peak between two samples; a server that died has none to read.
    const peak = exited ? sampled : Math.max(sampled, procStatusKb(pid, 'VmHWM') * 1024);
    const growth = peak - before;
    const mb = (bytes: number) => Math.round(bytes / 1024 / 1024);
    console.log(
      `job-lines memory: RSS before ${mb(before)} MB, peak ${mb(peak)} MB, growth ${mb(growth)} MB` +
        `${exited ? ' (the server died)' : ''}; written per upload before its answer: ` +
        `${outcomes.map((o) => mb(o.written)).join(', ')} MB`,
    );

    expect({ serverExited: exited }).toEqual({ serverExited: false });
    for (const outcome of outcomes) {
      expect(outcome).toEqual(
        expect.objectContaining({
          status: 422,
          contentType: expect.stringMatching(/^application\/problem\+json/),
          connection: 'close',
          body: expect.objectContaining({
            status: 422,
            detail: 'Line 1 is not a valid job line; nothing was created.',
            errors: [
              {
                path: 'line[1]',
                message: expect.stringContaining(
                  `is longer than the longest valid line (${maxLineBytes(MAX_TEXT_CHARS)} bytes`,
                ) as string,
              },
            ],
          }),
        }),
      );
    }
    expect(growth).toBeLessThan(MAX_GROWTH_BYTES);
    // The server is still well.
    expect((await fetch(`${server.baseUrl}/health/live`)).status).toBe(200);
  }, 150_000);
});
