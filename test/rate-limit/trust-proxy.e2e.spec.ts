import request from '../support/contract-request.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

type Server = ReturnType<TestApp['app']['getHttpServer']>;

/** Per-IP budget (no API keys) small enough to use up in a test. */
const LIMIT = 2;
const CLIENT_A = '203.0.113.10';
const CLIENT_B = '203.0.113.20';

/** A predict call as forwarded by a proxy; the test client (127.0.0.1) plays the proxy. */
function predictVia(server: Server, forwardedFor: string) {
  return request(server)
    .post('/v1/sentiment/predict')
    .set('X-Forwarded-For', forwardedFor)
    .send({ text: ['hi'] });
}

/** Sends `forwardedFor` past its budget, then one request for `next`: the statuses of them all. */
async function statusesAfterExhausting(server: Server, forwardedFor: string, next: string): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i <= LIMIT; i++) statuses.push((await predictVia(server, forwardedFor)).status);
  statuses.push((await predictVia(server, next)).status);
  return statuses;
}

describe.each([
  ['the proxy is trusted by its address (TRUST_PROXY=127.0.0.0/8,::1)', '127.0.0.0/8,::1', 'own'],
  ['TRUST_PROXY is unset', undefined, 'shared'],
  ['TRUST_PROXY lists other proxies (10.0.0.0/8), not this peer', '10.0.0.0/8', 'shared'],
])('per-IP rate limit behind a proxy, when %s', (_case, trustProxy, budgets) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ RATE_LIMIT_PER_MINUTE: String(LIMIT), TRUST_PROXY: trustProxy });
  });
  afterAll(async () => {
    await t?.close();
  });

  it(`gives two clients with different X-Forwarded-For ${budgets === 'own' ? 'a budget each' : 'one shared budget'}`, async () => {
    const statuses = await statusesAfterExhausting(t.app.getHttpServer(), CLIENT_A, CLIENT_B);
    expect(statuses).toEqual([200, 200, 429, budgets === 'own' ? 200 : 429]);
  });
});

// The proxy appends the address it saw; whatever the client sent itself stands to the left of it.
describe.each([
  ['the proxy address (127.0.0.1,::1)', '127.0.0.1,::1', 'are ignored: the client is the nearest untrusted address'],
  ['true (anybody)', 'true', 'choose the client address: the leftmost entry wins'],
])('X-Forwarded-For entries a client writes itself, when TRUST_PROXY is %s', (_case, trustProxy, outcome) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ RATE_LIMIT_PER_MINUTE: String(LIMIT), TRUST_PROXY: trustProxy });
  });
  afterAll(async () => {
    await t?.close();
  });

  it(outcome, async () => {
    const statuses = await statusesAfterExhausting(
      t.app.getHttpServer(),
      `198.51.100.1, ${CLIENT_A}`,
      `198.51.100.2, ${CLIENT_A}`,
    );
    expect(statuses).toEqual([200, 200, 429, trustProxy === 'true' ? 200 : 429]);
  });
});
