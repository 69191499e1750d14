import { RestartBackoff } from '../../src/model/restart-backoff.js';

describe('RestartBackoff (the model and tokenizer workers restart policy)', () => {
  it('doubles the delay with each restart in a row, and gives none past the most restarts', () => {
    const backoff = new RestartBackoff(100, 3);
    expect([backoff.nextDelayMs(), backoff.nextDelayMs(), backoff.nextDelayMs()]).toEqual([100, 200, 400]);
    expect(backoff.inARow).toBe(3);
    expect(backoff.nextDelayMs()).toBeUndefined();
    expect(backoff.nextDelayMs()).toBeUndefined();
  });

  it('starts from the first delay again once the worker did its work', () => {
    const backoff = new RestartBackoff(100, 2);
    backoff.nextDelayMs();
    backoff.nextDelayMs();
    backoff.succeeded();
    expect(backoff.inARow).toBe(0);
    expect(backoff.nextDelayMs()).toBe(100);
  });

  it('with no restarts allowed, gives up at the first loss', () => {
    expect(new RestartBackoff(100, 0).nextDelayMs()).toBeUndefined();
  });
});
