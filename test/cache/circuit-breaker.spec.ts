import { CircuitBreaker } from '../../src/cache/circuit-breaker.js';

describe('CircuitBreaker', () => {
  let now: number;
  const breaker = () => new CircuitBreaker({ failureThreshold: 3, openMs: 1000, now: () => now });

  beforeEach(() => {
    now = 0;
  });

  it('stays closed below the failure threshold, and a success resets the count', () => {
    const b = breaker();
    b.recordFailure();
    b.recordFailure();
    b.recordSuccess();
    b.recordFailure();
    b.recordFailure();
    expect(b.state).toBe('closed');
    expect(b.tryAcquire()).toBe(true);
  });

  it('opens after consecutive failures and refuses calls until the interval has passed', () => {
    const b = breaker();
    expect([b.recordFailure(), b.recordFailure(), b.recordFailure()]).toEqual(['closed', 'closed', 'open']);
    expect(b.tryAcquire()).toBe(false);
    now = 999;
    expect(b.tryAcquire()).toBe(false);
    expect(b.state).toBe('open');
  });

  it('lets exactly one probe through when half-open; its success closes the circuit', () => {
    const b = breaker();
    for (let i = 0; i < 3; i++) b.recordFailure();
    now = 1000;
    expect(b.tryAcquire()).toBe(true);
    expect(b.state).toBe('half-open');
    expect(b.tryAcquire()).toBe(false);
    b.recordSuccess();
    expect(b.state).toBe('closed');
    expect(b.tryAcquire()).toBe(true);
    expect(b.tryAcquire()).toBe(true);
  });

  it('re-opens for another interval when the probe fails', () => {
    const b = breaker();
    for (let i = 0; i < 3; i++) b.recordFailure();
    now = 1500;
    expect(b.tryAcquire()).toBe(true);
    expect(b.recordFailure()).toBe('open');
    now = 2400;
    expect(b.tryAcquire()).toBe(false);
    now = 2500;
    expect(b.tryAcquire()).toBe(true);
  });
});
