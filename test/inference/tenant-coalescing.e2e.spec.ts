import { jest } from '@jest/globals';
import request from 'supertest';
import { startTestApp, type TestApp } from '../support/test-app.js';

const KEY_A = 'coalesce-a-key-0123456789abcdef';
const KEY_B = 'coalesce-b-key-fedcba9876543210';
const PREDICT = '/v1/sentiment/predict';

/**
 * Identical texts in flight are computed once: across tenants only with CACHE_SCOPE=shared, so that
 * under the default a faster (coalesced) answer does not tell key B that key A sent the same text.
 */
describe.each([
  ['tenant', 2],
  ['shared', 1],
])('in-flight coalescing with CACHE_SCOPE=%s', (scope, expectedComputations) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({
      API_KEYS: `${KEY_A},${KEY_B}`,
      CACHE_SCOPE: scope,
      RATE_LIMIT_ENABLED: 'false',
      // Both requests reach the queue before the call runs.
      BATCH_WINDOW_MS: '300',
    });
  });
  afterAll(() => t.close());

  it(`computes a text two keys send at once ${expectedComputations === 2 ? 'once per key' : 'once'}`, async () => {
    const text = `the same words ${scope} ${Date.now()}, splendid`;
    const computed = jest.spyOn(t.model, 'classifySequences');
    try {
      const send = (key: string) =>
        request(t.app.getHttpServer())
          .post(PREDICT)
          .set('X-API-Key', key)
          .send({ text: [text] })
          .expect(200);
      const [a, b] = await Promise.all([send(KEY_A), send(KEY_B)]);
      expect(b.body.predictions).toEqual(a.body.predictions);
      const sequences = computed.mock.calls.reduce((total, [batch]) => total + batch.length, 0);
      expect(sequences).toBe(expectedComputations);
    } finally {
      computed.mockRestore();
    }
  });
});
