import { jest } from '@jest/globals';
import { UnavailableError } from '../../src/common/unavailable-error.js';
import { InferenceService } from '../../src/inference/inference.service.js';
import { rawRequest } from '../support/raw-http.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

describe('overload is refused before the body is read', () => {
  let t: TestApp;
  let baseUrl: string;
  beforeAll(async () => {
    t = await startTestApp({ RATE_LIMIT_ENABLED: 'false' });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    baseUrl = await t.app.getUrl();
  });
  afterAll(() => t.close());

  it('answers 503 over-capacity with Retry-After to a predict whose 100 kB body has not been sent', async () => {
    const inference = t.app.get(InferenceService);
    // The real scheduler's verdict, as when the queued work alone is past the deadline.
    const spy = jest
      .spyOn(inference.scheduler, 'refusalForAnyRequest')
      .mockReturnValue(
        new UnavailableError('The service cannot answer this request within its deadline now.', 7.2, 'over-capacity'),
      );
    try {
      const head = [
        'POST /v1/sentiment/predict HTTP/1.1',
        'Host: 127.0.0.1',
        'Content-Type: application/json',
        'Content-Length: 100000',
        '',
        '',
      ].join('\r\n');
      const started = performance.now();
      const answer = await rawRequest(baseUrl, head);
      expect(answer.status).toBe(503);
      expect(answer.head).toMatch(/^retry-after: 8$/im);
      expect(JSON.parse(answer.body)).toMatchObject({ type: 'urn:sentiment-api:problem:over-capacity' });
      // Waiting for the body would take the request timeout (30 s, then 408); a third of it is
      // "at once" on however busy a machine.
      expect(performance.now() - started).toBeLessThan(t.settings.http.requestTimeoutMs / 3);
      // Routes that need no model time are not refused.
      const model = await rawRequest(baseUrl, 'GET /v1/model HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      expect(model.status).toBe(200);
    } finally {
      spy.mockRestore();
    }
  });
});
