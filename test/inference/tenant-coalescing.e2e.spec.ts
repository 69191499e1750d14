import { jest } from '@jest/globals';
import request from 'supertest';
import { InferenceService } from '../../src/inference/inference.service.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { until } from '../support/until.js';

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
    t = await startTestApp({ API_KEYS: `${KEY_A},${KEY_B}`, CACHE_SCOPE: scope, RATE_LIMIT_ENABLED: 'false' });
  });
  afterAll(() => t.close());

  it(`computes a text two keys send at once ${expectedComputations === 2 ? 'once per key' : 'once'}`, async () => {
    const text = `the same words ${scope} ${Date.now()}, splendid`;
    const submitted = jest.spyOn(t.app.get(InferenceService).scheduler, 'submit');
    // Model calls wait until both requests are in the scheduler: neither can finish (and be
    // cached) before the other arrives, however the machine schedules the two requests.
    let release!: () => void;
    const bothArrived = new Promise<void>((resolve) => (release = resolve));
    const classify = t.model.classifySequences.bind(t.model);
    const computed = jest
      .spyOn(t.model, 'classifySequences')
      .mockImplementation(async (...args) => bothArrived.then(() => classify(...args)));
    try {
      const send = (key: string) =>
        request(t.app.getHttpServer())
          .post(PREDICT)
          .set('X-API-Key', key)
          .send({ text: [text] })
          .expect(200);
      const answers = Promise.all([send(KEY_A), send(KEY_B)]);
      await until(() => submitted.mock.calls.length === 2, 30_000);
      release();
      const [a, b] = await answers;
      expect(b.body.predictions).toEqual(a.body.predictions);
      const sequences = computed.mock.calls.reduce((total, [batch]) => total + batch.length, 0);
      expect(sequences).toBe(expectedComputations);
    } finally {
      release();
      computed.mockRestore();
      submitted.mockRestore();
    }
  });
});
