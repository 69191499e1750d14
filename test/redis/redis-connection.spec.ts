import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { TaskCancelledError } from 'cockatiel';
import {
  RedisConnection,
  RedisUnavailableError,
  type BreakerState,
  type ConnectionClient,
} from '../../src/redis/redis-connection.js';

const TIMEOUT_MS = 20;
const HALF_OPEN_AFTER_MS = 100;

/** A stand-in for the node-redis client: connected or not, and commands that answer or hang. */
class FakeClient implements ConnectionClient {
  isReady = true;
  isOpen = true;
  disconnect = (): Promise<void> => {
    this.isOpen = false;
    return Promise.resolve();
  };
}

const answers = (value: string) => () => Promise.resolve(value);
const hangs = () => new Promise<string>(() => undefined);

describe('RedisConnection: every call through a timeout inside a circuit breaker', () => {
  let client: FakeClient;
  let redis: RedisConnection<FakeClient>;
  let seen: BreakerState[];
  /** The `breaker` field of every line the connection logged. */
  let logged: unknown[];

  /** Fails `times` calls in a row by letting them time out. */
  async function timeOut(times: number): Promise<void> {
    for (let i = 0; i < times; i++) await expect(redis.execute(hangs)).rejects.toBeInstanceOf(TaskCancelledError);
  }

  beforeEach(() => {
    client = new FakeClient();
    redis = new RedisConnection(client, {
      timeoutMs: TIMEOUT_MS,
      failureThreshold: 3,
      halfOpenAfterMs: HALF_OPEN_AFTER_MS,
    });
    seen = [];
    redis.onBreakerChange((state) => seen.push(state));
    logged = [];
    for (const level of ['log', 'warn'] as const) {
      jest
        .spyOn(Logger.prototype, level)
        .mockImplementation((line: unknown) => void logged.push((line as { breaker?: string }).breaker));
    }
  });
  afterEach(() => jest.restoreAllMocks());

  it('passes answers through while closed', async () => {
    await expect(redis.execute(answers('PONG'))).resolves.toBe('PONG');
    expect(redis.breakerState).toBe('closed');
    expect(redis.isUp()).toBe(true);
  });

  it('gives up on a hung call at the timeout, or at a shorter one the caller asks for', async () => {
    let started = performance.now();
    await expect(redis.execute(hangs)).rejects.toBeInstanceOf(TaskCancelledError);
    expect(performance.now() - started).toBeGreaterThanOrEqual(TIMEOUT_MS - 1);
    expect(performance.now() - started).toBeLessThan(TIMEOUT_MS + 50);
    started = performance.now();
    await expect(redis.execute(hangs, 5)).rejects.toBeInstanceOf(TaskCancelledError);
    expect(performance.now() - started).toBeLessThan(TIMEOUT_MS);
  });

  it('stays closed below the threshold; a success resets the count', async () => {
    await timeOut(2);
    await redis.execute(answers('OK'));
    await timeOut(2);
    expect(redis.breakerState).toBe('closed');
    expect(seen).toEqual([]);
  });

  it('opens after 3 failures in a row, then skips Redis without calling it', async () => {
    await timeOut(3);
    expect(redis.breakerState).toBe('open');
    expect(redis.isUp()).toBe(false);
    let called = false;
    await expect(
      redis.execute(() => {
        called = true;
        return Promise.resolve('never');
      }),
    ).rejects.toBeInstanceOf(RedisUnavailableError);
    expect(called).toBe(false);
    expect(seen).toEqual(['open']);
  });

  it('re-opens when the half-open trial fails, and closes when a later trial succeeds', async () => {
    await timeOut(3);
    await sleep(HALF_OPEN_AFTER_MS + 10);

    // The trial: one call goes through; others meanwhile skip Redis instead of queueing behind it.
    const trial = redis.execute(hangs);
    expect(redis.breakerState).toBe('half-open');
    await expect(redis.execute(answers('queued'))).rejects.toBeInstanceOf(RedisUnavailableError);
    await expect(trial).rejects.toBeInstanceOf(TaskCancelledError);
    expect(redis.breakerState).toBe('open');
    await expect(redis.execute(answers('too early'))).rejects.toBeInstanceOf(RedisUnavailableError);

    await sleep(HALF_OPEN_AFTER_MS + 10);
    await expect(redis.execute(answers('back'))).resolves.toBe('back');
    expect(redis.breakerState).toBe('closed');
    expect(redis.isUp()).toBe(true);
    expect(seen).toEqual(['open', 'half-open', 'open', 'half-open', 'closed']);
    expect(redis.transitions()).toEqual({ open: 2, 'half-open': 2, closed: 1 });
    expect(logged).toEqual(seen);
  });

  it('counts a failed command like a timeout', async () => {
    for (let i = 0; i < 3; i++) {
      await expect(redis.execute(() => Promise.reject(new Error('READONLY')))).rejects.toThrow('READONLY');
    }
    expect(redis.breakerState).toBe('open');
  });

  it('skips calls while disconnected without counting them against the breaker', async () => {
    client.isReady = false;
    for (let i = 0; i < 5; i++) {
      await expect(redis.execute(answers('never'))).rejects.toBeInstanceOf(RedisUnavailableError);
    }
    expect(redis.isUp()).toBe(false);
    client.isReady = true;
    expect(redis.breakerState).toBe('closed');
    expect(redis.isUp()).toBe(true);
  });

  it('disconnects on close', async () => {
    await redis.close();
    expect(client.isOpen).toBe(false);
  });
});
