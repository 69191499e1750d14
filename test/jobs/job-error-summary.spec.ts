import { UnavailableError } from '../../src/common/unavailable-error.js';
import { jobErrorSummary } from '../../src/jobs/job-chunk.processor.js';

describe("a failed job's error, as its owner reads it", () => {
  it("keeps the service's own refusals", () => {
    const refusal = new UnavailableError('The model is not loaded yet.', 5, 'model-loading');
    expect(jobErrorSummary(3, 6, refusal)).toBe('chunk 3 failed 6 times: The model is not loaded yet.');
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
