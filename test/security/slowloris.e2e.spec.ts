import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';

/**
 * Slowloris against the built server: hundreds of connections send their headers, then a body one
 * byte at a time. Short timeouts (via the environment) keep the test to a few seconds.
 */
const REQUEST_TIMEOUT_MS = 3000;
const PER_IP = 60;
/** Peer addresses of the slow clients: loopback has all of 127/8, so each is its own "client". */
const SLOW_ADDRESSES = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6'];
const SLOW_BODY_BYTES = 100_000;
const BYTE_EVERY_MS = 200;
/**
 * A slow client cut later than this after it connected was not cut by the request timeout: Node
 * checks it once a second, then writes 300 408s. Generous for a busy machine; without the timeout
 * they would wait for the 30 s default or the connection timeout.
 */
const CUT_WITHIN_MS = REQUEST_TIMEOUT_MS + 1000 + 5000;
/** Slack over the drain and in-flight allowances for the process to exit, generous for a busy machine. */
const EXIT_SLACK_MS = 10_000;

interface SlowClient {
  socket: Socket;
  openedAt: number;
  /** Resolves once the connection is established (or has failed: then `closed` says so). */
  connected: Promise<void>;
  /** performance.now() when the server closed it, with what it answered first ('' = nothing). */
  closed: Promise<{ at: number; answer: string }>;
}

function slowClient(server: ServerProcess, localAddress: string): SlowClient {
  const { port } = new URL(server.baseUrl);
  const socket = connect({ port: Number(port), host: '127.0.0.1', localAddress });
  let answer = '';
  let drip: NodeJS.Timeout | undefined;
  socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
  socket.on('error', () => undefined);
  const connected = new Promise<void>((resolve) => {
    socket.once('connect', () => resolve());
    socket.once('close', () => resolve());
  });
  socket.on('connect', () => {
    socket.write(
      'POST /v1/sentiment/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
        `Content-Length: ${SLOW_BODY_BYTES}\r\n\r\n{`,
    );
    drip = setInterval(() => socket.write(' '), BYTE_EVERY_MS);
  });
  const closed = new Promise<{ at: number; answer: string }>((resolve) =>
    socket.once('close', () => {
      clearInterval(drip);
      resolve({ at: performance.now(), answer });
    }),
  );
  return { socket, openedAt: performance.now(), connected, closed };
}

function rssBytes(server: ServerProcess): number {
  const status = readFileSync(`/proc/${server.child.pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN) * 1024;
}

async function predictOk(server: ServerProcess): Promise<number> {
  const response = await fetch(`${server.baseUrl}/v1/sentiment/predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ text: ['served while slow clients wait'] }),
  });
  await response.arrayBuffer();
  return response.status;
}

describe('slowloris (built server, short timeouts)', () => {
  let server: ServerProcess | undefined;
  const clients: SlowClient[] = [];
  afterEach(async () => {
    for (const client of clients.splice(0)) client.socket.destroy();
    await server?.stop();
    server = undefined;
  });

  it('cuts slow bodies at HTTP_REQUEST_TIMEOUT_MS, caps connections per address, keeps serving, bounded memory', async () => {
    server = await startServerProcess('slowloris', {
      HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
      HTTP_HEADERS_TIMEOUT_MS: '2000',
      HTTP_MAX_CONNECTIONS_PER_IP: String(PER_IP),
      RATE_LIMIT_ENABLED: 'false',
    });
    const rssBefore = rssBytes(server);
    for (const address of SLOW_ADDRESSES) {
      for (let i = 0; i < PER_IP; i++) clients.push(slowClient(server, address));
    }
    // Connected before the next ones (the server accepts them in order): they fill the caps.
    await Promise.all(clients.map((client) => client.connected));
    // Over the cap for its address: closed as it arrives, answered nothing (the request timeout
    // would have answered 408, and only after REQUEST_TIMEOUT_MS).
    const overCap = Array.from({ length: 10 }, () => slowClient(server!, SLOW_ADDRESSES[0]));
    const overCapClosed = await Promise.all(overCap.map((client) => client.closed));
    for (const { at, answer } of overCapClosed) {
      expect(answer).toBe('');
      expect(at - overCap[0].openedAt).toBeLessThan(REQUEST_TIMEOUT_MS);
    }

    // Normal requests from another address are served the whole time, also while every slow
    // client still holds its connection.
    const statuses: number[] = [];
    let servedWhileAllHeld = 0;
    let slowClosed = 0;
    for (const client of clients) void client.closed.then(() => (slowClosed += 1));
    let peakRss = rssBefore;
    const deadline = performance.now() + REQUEST_TIMEOUT_MS + 2500;
    while (performance.now() < deadline) {
      statuses.push(await predictOk(server));
      if (slowClosed === 0) servedWhileAllHeld += 1;
      peakRss = Math.max(peakRss, rssBytes(server));
      await sleep(50);
    }
    expect(servedWhileAllHeld).toBeGreaterThan(0);
    expect(statuses.length).toBeGreaterThan(10);
    expect(statuses.filter((status) => status !== 200)).toEqual([]);

    const slow = await Promise.all(
      clients.map(async (client) => {
        const { at, answer } = await Promise.race([
          client.closed,
          sleep(Math.max(0, client.openedAt + CUT_WITHIN_MS - performance.now())).then(() => ({
            at: Infinity,
            answer: 'still open',
          })),
        ]);
        return { afterMs: at - client.openedAt, status: answer.slice(0, 12) };
      }),
    );
    expect(slow).toHaveLength(SLOW_ADDRESSES.length * PER_IP);
    // Cut at the timeout (Node checks it once a second here), and told so: 408.
    const early = slow.filter(({ afterMs }) => afterMs < REQUEST_TIMEOUT_MS - 100);
    const late = slow.filter(({ afterMs }) => afterMs > CUT_WITHIN_MS);
    expect({ early: early.length, late: late.length }).toEqual({ early: 0, late: 0 });
    expect(slow.filter(({ status }) => status !== 'HTTP/1.1 408')).toEqual([]);
    expect(peakRss - rssBefore).toBeLessThan(100 * 1024 * 1024);
  });

  it('SIGTERM with slow clients connected still exits 0 within drain + in-flight allowance', async () => {
    const drainMs = 500;
    const inFlightMs = 1000;
    server = await startServerProcess('slowloris-shutdown', {
      // Long enough that only the shutdown can be what cuts them.
      HTTP_REQUEST_TIMEOUT_MS: '60000',
      SHUTDOWN_DRAIN_MS: String(drainMs),
      SHUTDOWN_IN_FLIGHT_MS: String(inFlightMs),
      RATE_LIMIT_ENABLED: 'false',
    });
    for (const address of SLOW_ADDRESSES) {
      for (let i = 0; i < 40; i++) clients.push(slowClient(server, address));
    }
    await Promise.all(clients.map((client) => client.connected));
    // Time for the server to read their headers: they are requests in flight, not just connections.
    await sleep(500);
    const signalledAt = performance.now();
    server.child.kill('SIGTERM');
    const exit = await server.exited;
    expect(exit).toEqual(expect.objectContaining({ code: 0, signal: null }));
    expect(exit.at - signalledAt).toBeGreaterThanOrEqual(drainMs);
    expect(exit.at - signalledAt).toBeLessThan(drainMs + inFlightMs + EXIT_SLACK_MS);
    expect(readFileSync(server.logFile, 'utf8')).toMatch(/closing their connections/);
  });
});
