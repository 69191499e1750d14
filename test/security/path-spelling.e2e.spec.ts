import { rawRequest, type RawAnswer } from '../support/raw-http.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { pathSpellings } from './path-spellings.js';

/**
 * The key check and the rate limit are decided by the route the router matched. This throws every
 * other spelling of every protected route at the built server over raw TCP (so nothing normalises
 * the target on the way) and checks that none gets past the key or around the limit.
 */
const API_KEY = 'spelling-api-key-0123456789';
const OTHER_API_KEY = 'spelling-api-key-abcdefghij';
const METRICS_KEY = 'spelling-metrics-key-012345';
const LIMIT = 4;
const BODY = JSON.stringify({ text: ['I love you'] });

interface ProtectedRoute {
  method: 'GET' | 'POST';
  path: string;
  key: string;
}

const ROUTES: ProtectedRoute[] = [
  { method: 'GET', path: '/v1/model', key: API_KEY },
  { method: 'POST', path: '/v1/sentiment/predict', key: API_KEY },
  { method: 'GET', path: '/metrics', key: METRICS_KEY },
];

function send(server: ServerProcess, method: string, target: string, key?: string): Promise<RawAnswer> {
  const headers = [`${method} ${target} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close'];
  if (key !== undefined) headers.push(`Authorization: Bearer ${key}`);
  const body = method === 'POST' ? BODY : '';
  if (method === 'POST') headers.push('Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body)}`);
  return rawRequest(server.baseUrl, `${headers.join('\r\n')}\r\n\r\n`, body);
}

interface Sent {
  method: string;
  target: string;
  status: number;
}

/** Every spelling of a route, with GET routes also asked by HEAD (Fastify routes HEAD to them). */
async function sendCorpus(server: ServerProcess, route: ProtectedRoute, key?: string): Promise<Sent[]> {
  const methods = route.method === 'GET' ? ['GET', 'HEAD'] : ['POST'];
  const sent: Sent[] = [];
  for (const method of methods) {
    // A few at a time: quick, and still far below the connection caps.
    const targets = pathSpellings(route.path);
    for (let i = 0; i < targets.length; i += 8) {
      const batch = targets.slice(i, i + 8);
      const answers = await Promise.all(batch.map((target) => send(server, method, target, key)));
      answers.forEach((answer, j) => sent.push({ method, target: batch[j], status: answer.status }));
    }
  }
  return sent;
}

const succeeded = (sent: Sent[]) => sent.filter(({ status }) => status >= 200 && status < 300);

describe('path spellings against every protected route (built server, raw TCP)', () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServerProcess('path-spelling', {
      API_KEYS: `${API_KEY},${OTHER_API_KEY}`,
      METRICS_API_KEY: METRICS_KEY,
      RATE_LIMIT_PER_MINUTE: String(LIMIT),
      // The failure budget would turn the 401s into 429s; here the key check itself is under test.
      AUTH_FAILURES_PER_MINUTE: '1000000',
    });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('the corpus is large and the route answers its normal spelling (control)', async () => {
    for (const route of ROUTES) {
      expect(pathSpellings(route.path).length).toBeGreaterThan(80);
      expect((await send(server, route.method, route.path)).status).toBe(401);
    }
    expect((await send(server, 'GET', '/metrics', METRICS_KEY)).status).toBe(200);
  });

  it.each(ROUTES)('no spelling of $method $path answers 2xx without a key', async (route) => {
    const sent = await sendCorpus(server, route);
    expect(succeeded(sent)).toEqual([]);
    // Refused as a target, not found, or refused for the key: never anything else.
    expect(sent.filter(({ status }) => ![400, 401, 404].includes(status))).toEqual([]);
  });

  it.each(ROUTES.filter((route) => route.path.startsWith('/v1/')))(
    'no spelling of $method $path opens it with the metrics key, nor /metrics with an API key',
    async (route) => {
      expect(succeeded(await sendCorpus(server, route, METRICS_KEY))).toEqual([]);
      expect(succeeded(await sendCorpus(server, ROUTES[2], route.key))).toEqual([]);
    },
  );

  it('no spelling gets around the rate limit: N keyed requests spend the budget of every spelling', async () => {
    for (let i = 0; i < LIMIT; i++) expect((await send(server, 'GET', '/v1/model', API_KEY)).status).toBe(200);
    for (const route of ROUTES.slice(0, 2)) {
      const sent = await sendCorpus(server, route, API_KEY);
      expect(succeeded(sent)).toEqual([]);
      expect(sent.filter(({ status }) => ![400, 404, 429].includes(status))).toEqual([]);
    }
    expect((await send(server, 'POST', '/v1/sentiment/predict', API_KEY)).status).toBe(429);
  });

  it('spellings sent with a fresh key leave it no more than N successes', async () => {
    const sent = [
      ...(await sendCorpus(server, ROUTES[0], OTHER_API_KEY)),
      ...(await sendCorpus(server, ROUTES[1], OTHER_API_KEY)),
    ];
    for (let i = 0; i <= LIMIT; i++) {
      const answer = await send(server, 'GET', `/v1/model?attempt=${i}`, OTHER_API_KEY);
      sent.push({ method: 'GET', target: `/v1/model?attempt=${i}`, status: answer.status });
    }
    expect(succeeded(sent).length).toBeLessThanOrEqual(LIMIT);
    expect(sent.at(-1)?.status).toBe(429);
  });

  it('no error body quotes the target it refused', async () => {
    const target = '/v1/%2E%2E/zebra-velvet-4711';
    const answer = await send(server, 'GET', target);
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body)).toEqual(
      expect.objectContaining({ type: 'urn:sentiment-api:problem:bad-request-target', status: 400 }),
    );
    expect(answer.body).not.toContain('zebra');
    const notFound = await send(server, 'GET', '/v1/zebra-velvet-4711');
    expect(notFound.status).toBe(404);
    expect(notFound.body).not.toContain('zebra');
  });
});
