import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { TaskCancelledError } from 'cockatiel';
import { createRedisClient } from '../../src/redis/redis-client.js';
import { RedisConnection, RedisUnavailableError, type ConnectionClient } from '../../src/redis/redis-connection.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';

const TIMEOUT_MS = 20;
const HALF_OPEN_AFTER_MS = 100;
const SAMPLING_MS = 500;

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
  /** The breaker's changes of state, from the `breaker` field of the lines the connection logged. */
  let seen: unknown[];

  /** Lets `times` calls time out together, as a stalled Redis (or process) does to the calls in flight. */
  async function timeOut(times: number): Promise<void> {
    const calls = Array.from({ length: times }, () => redis.execute(hangs));
    for (const call of calls) await expect(call).rejects.toBeInstanceOf(TaskCancelledError);
  }

  async function succeed(times: number): Promise<void> {
    for (let i = 0; i < times; i++) await redis.execute(answers('OK'));
  }

  beforeEach(() => {
    client = new FakeClient();
    // Opens when more than half of the calls of the last 500 ms failed, given at least 2 calls.
    redis = new RedisConnection(client, {
      timeoutMs: TIMEOUT_MS,
      failureRate: 0.5,
      samplingMs: SAMPLING_MS,
      minimumCallsPerSecond: 4,
      halfOpenAfterMs: HALF_OPEN_AFTER_MS,
    });
    seen = [];
    for (const level of ['log', 'warn'] as const) {
      jest
        .spyOn(Logger.prototype, level)
        .mockImplementation((line: unknown) => void seen.push((line as { breaker?: string }).breaker));
    }
  });
  afterEach(() => jest.restoreAllMocks());

  it('passes answers through while closed', async () => {
    await expect(redis.execute(answers('PONG'))).resolves.toBe('PONG');
    expect(redis.breakerState).toBe('closed');
    expect(redis.isUp()).toBe(true);
  });

  it('gives up on a hung call at the timeout', async () => {
    const started = performance.now();
    await expect(redis.execute(hangs)).rejects.toBeInstanceOf(TaskCancelledError);
    expect(performance.now() - started).toBeGreaterThanOrEqual(TIMEOUT_MS - 1);
    expect(performance.now() - started).toBeLessThan(TIMEOUT_MS + 50);
  });

  it('stays closed through a burst of failures among many answered calls (a stall of the process)', async () => {
    await succeed(20);
    await timeOut(8);
    await succeed(1);
    expect(redis.breakerState).toBe('closed');
    expect(seen).toEqual([]);
  });

  it('opens once most recent calls failed, then skips Redis without calling it', async () => {
    await succeed(2);
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
    expect(redis.breakerState).toBe('open');
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
  });

  it('counts a failed command like a timeout', async () => {
    for (let i = 0; i < 2; i++) {
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

describe('RedisConnection on a real redis-server', () => {
  let server: RedisServer;
  let redis: RedisConnection;

  beforeAll(async () => {
    server = await startRedisServer({ own: true });
    redis = new RedisConnection(createRedisClient(server.url, new Logger('Redis')), {
      timeoutMs: TIMEOUT_MS,
      failureRate: 0.5,
      samplingMs: 1000,
      minimumCallsPerSecond: 1,
      halfOpenAfterMs: 60_000,
    });
    const deadline = performance.now() + 5000;
    while (!redis.isUp() && performance.now() < deadline) await sleep(20);
  });
  afterAll(async () => {
    await redis?.close();
    await server?.stop();
  });

  it('lets an answer Redis sent in time win over a timeout that fired late because this process was busy', async () => {
    const answer = redis.execute((client) => client.ping());
    // The event loop stalls (a long callback, GC) past the timeout; Redis answers meanwhile.
    const until = performance.now() + TIMEOUT_MS * 3;
    while (performance.now() < until);
    await expect(answer).resolves.toBe('PONG');
    // One failure would have opened this breaker.
    expect(redis.breakerState).toBe('closed');
  });

  it('times out on a frozen server', async () => {
    server.pause();
    try {
      // The answered ping before and two timed-out ones: most calls failed.
      for (let i = 0; i < 2; i++) {
        await expect(redis.execute((client) => client.ping())).rejects.toBeInstanceOf(TaskCancelledError);
      }
      expect(redis.breakerState).toBe('open');
    } finally {
      server.resume();
    }
  });
});
