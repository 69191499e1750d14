import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { TaskCancelledError } from 'cockatiel';
import type { RedisClientType } from 'redis';
import { loadSettings } from '../../src/config/settings.js';
import { createRedisClient } from '../../src/redis/redis-client.js';
import { cacheRedisEndpoint } from '../../src/redis/redis-endpoint.js';
import { RedisOutageLog } from '../../src/redis/redis-outage.js';
import {
  RedisConnection,
  RedisUnavailableError,
  type ConnectionClient,
  type RedisPolicyOptions,
} from '../../src/redis/redis-connection.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { until } from '../support/until.js';

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

/** 'settled' if `promise` settled by the end of the event loop's next (real) check phase, else 'pending'. */
function stateAfterCheckPhase(promise: Promise<unknown>): Promise<'settled' | 'pending'> {
  const settled = promise.then(
    () => 'settled' as const,
    () => 'settled' as const,
  );
  return Promise.race([settled, new Promise<'pending'>((resolve) => setImmediate(() => resolve('pending')))]);
}

/**
 * On an injected clock: Jest's fake timers drive cockatiel's timeout (setTimeout) and its breaker's
 * sampling windows and half-open delay (Date.now), so time moves only when a test says so, however
 * busy the machine. setImmediate stays real: answerUnlessAborted waits for the check phase.
 */
describe('RedisConnection: every call through a timeout inside a circuit breaker', () => {
  const TIMEOUT_MS = 500;
  const HALF_OPEN_AFTER_MS = 1000;
  const SAMPLING_MS = 2000;
  let client: FakeClient;
  let redis: RedisConnection<FakeClient>;
  /** The breaker's changes of state, from the `breaker` field of the lines the connection logged. */
  let seen: unknown[];

  /** Opens when more than half of the calls of the last 2 s failed, given at least 2 calls (1 a second). */
  const connection = (options: Partial<RedisPolicyOptions> = {}) =>
    new RedisConnection(client, {
      timeoutMs: TIMEOUT_MS,
      failureRate: 0.5,
      samplingMs: SAMPLING_MS,
      minimumCallsPerSecond: 1,
      halfOpenAfterMs: HALF_OPEN_AFTER_MS,
      ...options,
    });

  /** Lets `times` calls time out together, as a stalled Redis (or process) does to the calls in flight. */
  async function timeOut(times: number): Promise<void> {
    const calls = Array.from({ length: times }, () =>
      expect(redis.execute(hangs)).rejects.toBeInstanceOf(TaskCancelledError),
    );
    await jest.advanceTimersByTimeAsync(TIMEOUT_MS);
    await Promise.all(calls);
  }

  async function succeed(times: number): Promise<void> {
    for (let i = 0; i < times; i++) await redis.execute(answers('OK'));
  }

  beforeEach(() => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'clearImmediate', 'nextTick', 'queueMicrotask'] });
    client = new FakeClient();
    redis = connection();
    seen = [];
    for (const level of ['log', 'warn'] as const) {
      jest
        .spyOn(Logger.prototype, level)
        .mockImplementation((line: unknown) => void seen.push((line as { breaker?: string }).breaker));
    }
  });
  afterEach(() => {
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  it('passes answers through while closed', async () => {
    await expect(redis.execute(answers('PONG'))).resolves.toBe('PONG');
    expect(redis.breakerState).toBe('closed');
    expect(redis.isUp()).toBe(true);
  });

  it('gives up on a hung call at the timeout, not before', async () => {
    const call = redis.execute(hangs);
    await jest.advanceTimersByTimeAsync(TIMEOUT_MS - 1);
    expect(await stateAfterCheckPhase(call)).toBe('pending');
    await jest.advanceTimersByTimeAsync(1);
    await expect(call).rejects.toBeInstanceOf(TaskCancelledError);
  });

  it('lets an answer that came in with a late timeout win: the abort gives up only in the check phase', async () => {
    // One failure would open this breaker (2 s at 0.5 calls a second: one call is enough to judge).
    redis = connection({ minimumCallsPerSecond: 0.5 });
    let answer: ((value: string) => void) | undefined;
    const call = redis.execute(() => new Promise<string>((resolve) => (answer = resolve)));
    expect(answer).toBeDefined();
    expect(jest.getTimerCount()).toBe(1);
    // This process was busy past the timeout. Back in the event loop, the timers phase fires the
    // timeout (the abort) and the poll phase reads the answer Redis sent in time, both before the
    // check phase: here the timeout fires first, then the answer arrives, before any setImmediate.
    jest.advanceTimersByTime(TIMEOUT_MS);
    expect(jest.getTimerCount()).toBe(0);
    answer!('PONG');
    await expect(call).resolves.toBe('PONG');
    expect(redis.breakerState).toBe('closed');
    expect(seen).toEqual([]);
  });

  it('but fails a call whose answer comes after that check phase', async () => {
    redis = connection({ minimumCallsPerSecond: 0.5 });
    let answer: ((value: string) => void) | undefined;
    const call = redis.execute(() => new Promise<string>((resolve) => (answer = resolve)));
    jest.advanceTimersByTime(TIMEOUT_MS);
    expect(await stateAfterCheckPhase(call)).toBe('settled');
    answer!('too late');
    await expect(call).rejects.toBeInstanceOf(TaskCancelledError);
    expect(redis.breakerState).toBe('open');
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
    await jest.advanceTimersByTimeAsync(HALF_OPEN_AFTER_MS - 1);
    await expect(redis.execute(answers('too early'))).rejects.toBeInstanceOf(RedisUnavailableError);
    await jest.advanceTimersByTimeAsync(1);

    // The trial: one call goes through; others meanwhile skip Redis instead of queueing behind it.
    const trial = expect(redis.execute(hangs)).rejects.toBeInstanceOf(TaskCancelledError);
    expect(redis.breakerState).toBe('half-open');
    await expect(redis.execute(answers('queued'))).rejects.toBeInstanceOf(RedisUnavailableError);
    await jest.advanceTimersByTimeAsync(TIMEOUT_MS);
    await trial;
    expect(redis.breakerState).toBe('open');
    await expect(redis.execute(answers('too early'))).rejects.toBeInstanceOf(RedisUnavailableError);

    await jest.advanceTimersByTimeAsync(HALF_OPEN_AFTER_MS);
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

/**
 * Real time, with a deterministic fault: a SIGSTOPped redis-server keeps the connection and never
 * answers, so every call to it times out however fast or slow this machine is.
 */
describe('RedisConnection on a real redis-server', () => {
  const TIMEOUT_MS = 500;
  /** Far longer than this test: no call drops out of the breaker's count, however slow the machine. */
  const SAMPLING_MS = 600_000;
  let server: RedisServer;
  let redis: RedisConnection<RedisClientType>;

  beforeAll(async () => {
    server = await startRedisServer({ own: true });
  });
  beforeEach(async () => {
    const endpoint = cacheRedisEndpoint(loadSettings({ REDIS_URL: server.url }))!;
    // One node: a RedisClientType, whose commands the tests call.
    const outage = new RedisOutageLog(new Logger('Redis'), 'cache', 'test');
    redis = new RedisConnection(createRedisClient(endpoint, outage).client as RedisClientType, {
      timeoutMs: TIMEOUT_MS,
      failureRate: 0.5,
      samplingMs: SAMPLING_MS,
      // At least 2 calls in the window: then more than half of them failing opens it.
      minimumCallsPerSecond: 2 / (SAMPLING_MS / 1000),
      halfOpenAfterMs: 600_000,
    });
    await until(() => redis.isUp(), 10_000);
  });
  afterEach(async () => {
    server.resume();
    await redis?.close();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('passes a real answer through', async () => {
    await expect(redis.execute((client) => client.ping())).resolves.toBe('PONG');
    expect(redis.breakerState).toBe('closed');
  });

  it('times out on a frozen server, and opens once most calls timed out', async () => {
    await expect(redis.execute((client) => client.ping())).resolves.toBe('PONG');
    server.pause();
    await expect(redis.execute((client) => client.ping())).rejects.toBeInstanceOf(TaskCancelledError);
    // One answered, one timed out: not most, so it still calls Redis.
    expect(redis.breakerState).toBe('closed');
    await expect(redis.execute((client) => client.ping())).rejects.toBeInstanceOf(TaskCancelledError);
    // Two of three timed out: open, and the frozen server is no longer asked.
    expect(redis.breakerState).toBe('open');
    await expect(redis.execute((client) => client.ping())).rejects.toBeInstanceOf(RedisUnavailableError);
  });
});
