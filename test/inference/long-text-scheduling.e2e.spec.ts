import { jest } from '@jest/globals';
import request from 'supertest';
import { InferenceService } from '../../src/inference/inference.service.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { until } from '../support/until.js';

const PREDICT = '/v1/sentiment/predict';

/**
 * A `long_text: "chunk"` text goes to the scheduler as its windows: admitted and priced as them,
 * and interleaved with other requests' texts like any request of many texts. Model calls are held
 * until the test lets each one go, so the order is the scheduler's, not the machine's timing.
 */
describe('a 20-window text beside one-text requests (in-process app, tiny baseline)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({
      RATE_LIMIT_ENABLED: 'false',
      // 7,500 one-token words do not fit the default 10,000 characters.
      MAX_TEXT_CHARS: '40000',
      // Calls are held by the test; the deadline must not run out meanwhile on a busy machine.
      REQUEST_TIMEOUT_MS: '300000',
    });
  });
  afterAll(() => t?.close());

  it('is admitted and priced as its windows, and a one-text request sent meanwhile is served next', async () => {
    // 7,500 content tokens: windows of 510 starting every 383 (a quarter shared): 20 of them,
    // 19 of 512 tokens and a last one of 7,500 − 19 × 383 = 223 content tokens (225 with [CLS], [SEP]).
    const long = Array.from({ length: 7500 }, (_, i) => (i === 7499 ? 'terrible' : 'the')).join(' ');
    const admitted: { texts: number; tokens: number }[] = [];
    t.app.get(InferenceService).addListener({ onAdmit: (texts, tokens) => admitted.push({ texts, tokens }) });

    const calls: { lengths: number[]; release: () => void }[] = [];
    const classify = t.model.classifySequences.bind(t.model);
    const held = jest.spyOn(t.model, 'classifySequences').mockImplementation(async (sequences, timeoutMs) => {
      await new Promise<void>((release) => calls.push({ lengths: sequences.map((s) => s.length), release }));
      return classify(sequences, timeoutMs);
    });
    try {
      const server = t.app.getHttpServer();
      let longDone = false;
      const longAnswer = request(server)
        .post(PREDICT)
        .send({ text: [long], long_text: 'chunk', details: true })
        .then((response) => {
          longDone = true;
          return response;
        });
      // Its first call has started (and is held); the rest of its windows wait in the queue.
      await until(() => calls.length === 1, 60_000);
      expect(admitted).toEqual([{ texts: 20, tokens: 19 * 512 + 225 }]);

      const shortText = 'a short one, lovely';
      const shortTokens = (await t.model.tokenize([shortText])).sequences[0].length;
      // supertest sends once asked for the answer.
      const shortAnswer = request(server)
        .post(PREDICT)
        .send({ text: [shortText] })
        .then((response) => response);
      await until(() => admitted.length === 2, 60_000);
      expect(admitted[1]).toEqual({ texts: 1, tokens: shortTokens });

      calls[0].release();
      await until(() => calls.length === 2, 60_000);
      // The short request's flow leads the next call: it is not queued behind the other 18 windows.
      expect(calls[1].lengths).toContain(shortTokens);
      calls[1].release();
      const short = await shortAnswer;
      expect(short.status).toBe(200);
      expect(longDone).toBe(false);

      // Then the long text's remaining windows, and its answer from all 20 of them.
      for (let call = 2; !longDone; call++) {
        await until(() => calls.length > call || longDone, 60_000);
        calls[call]?.release();
      }
      const answer = await longAnswer;
      expect(answer.status).toBe(200);
      expect(answer.body.details).toEqual([{ tokens: 7502, truncated: false, cache: 'miss', windows: 20 }]);
      const windowLengths = calls.flatMap((call) => call.lengths).filter((length) => length !== shortTokens);
      expect(windowLengths.sort((a, b) => a - b)).toEqual([225, ...Array.from({ length: 19 }, () => 512)]);
    } finally {
      for (const call of calls) call.release();
      held.mockRestore();
    }
  });
});
