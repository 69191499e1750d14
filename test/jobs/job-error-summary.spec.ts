import { TooManyWindowsError } from '../../src/common/too-many-windows-error.js';
import { UnavailableError } from '../../src/common/unavailable-error.js';
import { jobErrorSummary, RefusedTextsError } from '../../src/jobs/job-chunk.processor.js';
import type { StoredText } from '../../src/jobs/job-store.js';

describe("a failed job's error, as its owner reads it", () => {
  it("keeps the service's own refusals", () => {
    const refusal = new UnavailableError('The model is not loaded yet.', 5, 'model-loading');
    expect(jobErrorSummary(3, 6, refusal)).toBe('chunk 3 failed 6 times: The model is not loaded yet.');
  });

  it('names the lines (never the texts) a chunk refuses outright, the first five of them', () => {
    const texts: StoredText[] = Array.from({ length: 8 }, (_, i) => [`secret text ${i}`, null, 101 + i]);
    const refused = new TooManyWindowsError(
      Array.from({ length: 7 }, (_, i) => ({ index: i + 1, windows: 40 + i })),
      32,
    );
    const summary = jobErrorSummary(4, 1, new RefusedTextsError(refused, texts));
    expect(summary).toBe(
      'chunk 4 failed: line 102 needs 40 windows, line 103 needs 41 windows, line 104 needs 42 windows, ' +
        'line 105 needs 43 windows, line 106 needs 44 windows (and 2 more) with long_text "chunk", more than ' +
        'LONG_TEXT_MAX_WINDOWS (32)',
    );
    expect(summary).not.toContain('secret');
  });

  it.each([
    new Error('connect ECONNREFUSED 10.244.1.17:6379'),
    new Error("READONLY You can't write against a read only replica. at /app/node_modules/ioredis/built/Redis.js:1:1"),
  ])('hides internal addresses and stack text: %p', (error) => {
    const summary = jobErrorSummary(0, 6, error);
    expect(summary).toBe('chunk 0 failed 6 times: an internal error (the service log has its cause under this job id)');
    expect(summary).not.toMatch(/\d+\.\d+\.\d+\.\d+|\/app\/|node_modules/);
  });
});
