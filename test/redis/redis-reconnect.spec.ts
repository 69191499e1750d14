import { reconnectDelayMs } from '../../src/redis/redis-client.js';

describe('Redis reconnect backoff', () => {
  it('doubles from 100 ms and never waits more than 2 s, so a restarted Redis is found quickly', () => {
    expect([0, 1, 2, 3, 4].map(reconnectDelayMs)).toEqual([100, 200, 400, 800, 1600]);
    for (const retries of [5, 10, 100, 10_000]) expect(reconnectDelayMs(retries)).toBe(2000);
  });
});
