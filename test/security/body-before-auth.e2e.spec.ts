import { connect } from 'node:net';
import { rawRequest } from '../support/raw-http.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';

const API_KEY = 'body-before-auth-key-0123456';
const LIMIT = 2;
/**
 * "At once", generously for a busy machine: a server waiting for the body would answer only at
 * its request timeout (30 s by default), and then 408.
 */
const AT_ONCE_MS = 10_000;

/** Headers of a predict announcing a 2 MB body that never comes. */
function announcingHead(headers: string[]): string {
  return [
    'POST /v1/sentiment/predict HTTP/1.1',
    'Host: 127.0.0.1',
    'Content-Type: application/json',
    'Content-Length: 2000000',
    ...headers,
    '',
    '',
  ].join('\r\n');
}

/** Resolves with whatever the server sent within `ms`, or '' if it sent nothing. */
function answerWithin(server: ServerProcess, head: string, ms: number): Promise<string> {
  const { port } = new URL(server.baseUrl);
  return new Promise((resolve) => {
    const socket = connect(Number(port), '127.0.0.1');
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
    socket.on('error', () => undefined);
    socket.write(head);
    setTimeout(() => {
      socket.destroy();
      resolve(received);
    }, ms);
  });
}

describe('the key and the rate limit are checked before the body is read (built server)', () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServerProcess('body-before-auth', {
      API_KEYS: API_KEY,
      RATE_LIMIT_PER_MINUTE: String(LIMIT),
      AUTH_FAILURES_PER_MINUTE: '3',
    });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it.each([
    ['no key', []],
    ['a wrong key', ['Authorization: Bearer not-the-key-0123456789']],
  ])('a predict with %s and a 2 MB body not yet sent gets 401 at once', async (_case, headers) => {
    const startedAt = performance.now();
    const answer = await rawRequest(server.baseUrl, announcingHead(headers), '', AT_ONCE_MS);
    expect(answer.status).toBe(401);
    expect(answer.head).toMatch(/^www-authenticate: Bearer realm="sentiment-api"$/im);
    expect(performance.now() - startedAt).toBeLessThan(AT_ONCE_MS);
  });

  it('while a valid key with the same headers is waited for (the body is read only then)', async () => {
    expect(await answerWithin(server, announcingHead([`X-API-Key: ${API_KEY}`]), 500)).toBe('');
  });

  it('over the rate limit, the same request gets 429 at once', async () => {
    const ok = JSON.stringify({ text: ['fine'] });
    // The request above was counted on arrival, before its body: one of the budget is spent.
    for (let i = 1; i < LIMIT; i++) {
      const head = announcingHead([`X-API-Key: ${API_KEY}`]).replace(
        'Content-Length: 2000000',
        `Content-Length: ${ok.length}`,
      );
      expect((await rawRequest(server.baseUrl, head, ok)).status).toBe(200);
    }
    const answer = await rawRequest(server.baseUrl, announcingHead([`X-API-Key: ${API_KEY}`]), '', AT_ONCE_MS);
    expect(answer.status).toBe(429);
    expect(answer.head).toMatch(/^retry-after: \d+$/im);
  });

  it('past AUTH_FAILURES_PER_MINUTE failed keys from one address, the next gets 429, still before the body', async () => {
    // Two failures were spent above; one more 401, then 429s.
    const wrong = ['X-API-Key: still-not-the-key-0123456'];
    expect((await rawRequest(server.baseUrl, announcingHead(wrong), '', AT_ONCE_MS)).status).toBe(401);
    const answer = await rawRequest(server.baseUrl, announcingHead(wrong), '', AT_ONCE_MS);
    expect(answer.status).toBe(429);
    expect(answer.head).toMatch(/^retry-after: \d+$/im);
    expect(answer.body).toContain('urn:sentiment-api:problem:rate-limited');
  });
});
