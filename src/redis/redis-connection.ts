import { Logger } from '@nestjs/common';
import {
  BrokenCircuitError,
  circuitBreaker,
  CircuitState,
  handleAll,
  SamplingBreaker,
  TaskCancelledError,
  timeout,
  TimeoutStrategy,
  wrap,
  type CircuitBreakerPolicy,
  type IPolicy,
} from 'cockatiel';
import { isClusterReady, type CacheClient } from './redis-client.js';

export type BreakerState = 'closed' | 'half-open' | 'open';
export const BREAKER_STATES: readonly BreakerState[] = ['closed', 'half-open', 'open'];

export interface RedisPolicyOptions {
  /** Longest wait for one call: a frozen server keeps its connection but never answers. */
  timeoutMs: number;
  /** Share of the calls of the last `samplingMs` that must have failed or timed out to open the breaker. */
  failureRate: number;
  samplingMs: number;
  /** Below this many calls per second over `samplingMs` the breaker never opens: too few to judge. */
  minimumCallsPerSecond: number;
  /** How long an open breaker skips Redis before it lets one trial call through. */
  halfOpenAfterMs: number;
}

/**
 * Most calls of the last 2 s failing means Redis is in trouble; then one trial a second finds out
 * when it is back, while every other call skips it. A rate, not a run of failures: a stall of this
 * process (GC, CPU throttling) fails every call in flight at once, many in a row under load, while
 * those are few among the calls of two seconds.
 */
export const BREAKER_DEFAULTS = {
  failureRate: 0.5,
  samplingMs: 2000,
  minimumCallsPerSecond: 2,
  halfOpenAfterMs: 1000,
} as const;

/**
 * What the connection itself needs of a node-redis client or Cluster (the commands are the
 * callers'): a client says whether it is ready, a Cluster is asked through its masters.
 */
export type ConnectionClient = Pick<CacheClient, 'isOpen' | 'disconnect'> & {
  readonly isReady?: boolean;
  readonly masters?: Parameters<typeof isClusterReady>[0]['masters'];
};

/** Commands run through a connection's policies, each handed `Target` (the client, or a wrapper of it). */
export interface RedisCommands<Target> {
  execute<T>(command: (target: Target) => Promise<T>): Promise<T>;
}

/** A call that was not attempted: Redis is disconnected, or the breaker holds calls off. */
export class RedisUnavailableError extends Error {
  constructor(reason: string, options?: ErrorOptions) {
    super(`redis skipped: ${reason}`, options);
    this.name = 'RedisUnavailableError';
  }
}

const STATE_NAMES: Partial<Record<CircuitState, BreakerState>> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.HalfOpen]: 'half-open',
  [CircuitState.Open]: 'open',
};

/**
 * The `cache` role's Redis connection, shared by the prediction cache and the rate limiter, with
 * cockatiel's policies around every call: a timeout, inside a failure-rate circuit breaker. Callers
 * never wait on a hung Redis for longer than the timeout, and once it keeps failing they skip it
 * (RedisUnavailableError) until a trial call finds it answering again.
 */
export class RedisConnection<Client extends ConnectionClient = CacheClient> implements RedisCommands<Client> {
  private readonly logger = new Logger('Redis');
  private readonly breaker: CircuitBreakerPolicy;
  private readonly policy: IPolicy;
  private readonly entered: Record<BreakerState, number> = { closed: 0, 'half-open': 0, open: 0 };

  constructor(
    private readonly client: Client,
    private readonly options: RedisPolicyOptions,
  ) {
    this.breaker = circuitBreaker(handleAll, {
      halfOpenAfter: options.halfOpenAfterMs,
      breaker: new SamplingBreaker({
        threshold: options.failureRate,
        duration: options.samplingMs,
        minimumRps: options.minimumCallsPerSecond,
      }),
    });
    // Cooperative: the timeout aborts the signal and answerUnlessAborted decides when to give up.
    // Not aborted on return: answerUnlessAborted has stopped listening by then, and every abort
    // builds a DOMException with its stack (3 % of a cache hit's main-thread time).
    this.policy = wrap(
      this.breaker,
      timeout(options.timeoutMs, { strategy: TimeoutStrategy.Cooperative, abortOnReturn: false }),
    );
    this.breaker.onStateChange((state) => this.changed(STATE_NAMES[state] ?? 'open'));
  }

  get breakerState(): BreakerState {
    return STATE_NAMES[this.breaker.state] ?? 'open';
  }

  /** Times the breaker entered each state since the start. */
  transitions(): Readonly<Record<BreakerState, number>> {
    return { ...this.entered };
  }

  /** Connected and the breaker closed: calls go to Redis as usual. */
  isUp(): boolean {
    return this.isReady() && this.breakerState === 'closed';
  }

  /**
   * Runs one command through the policies. Throws RedisUnavailableError when it was not sent,
   * cockatiel's TaskCancelledError when it took longer than the timeout, or the command's error.
   */
  async execute<T>(command: (client: Client) => Promise<T>): Promise<T> {
    // Disconnected: node-redis fails at once anyway; not counted, the breaker is about slow answers.
    if (!this.isReady()) throw new RedisUnavailableError('not connected');
    // cockatiel queues calls behind the half-open trial; here they skip Redis, so only the trial waits.
    if (this.breaker.state === CircuitState.HalfOpen) throw new RedisUnavailableError('trial call in progress');
    try {
      return await this.policy.execute(({ signal }) =>
        answerUnlessAborted(command(this.client), signal, this.options.timeoutMs),
      );
    } catch (error) {
      if (error instanceof BrokenCircuitError) throw new RedisUnavailableError('circuit open', { cause: error });
      throw error;
    }
  }

  /**
   * The same connection and policies, with `wrap` (a library's thin wrapper over the client, such
   * as a cache-manager store) made once and handed to each command instead of the client.
   */
  through<Wrapped>(wrap: (client: Client) => Wrapped): RedisCommands<Wrapped> {
    const wrapped = wrap(this.client);
    return { execute: (command) => this.execute(() => command(wrapped)) };
  }

  async close(): Promise<void> {
    // disconnect, not quit: a hung Redis would never answer QUIT, and nothing here needs flushing.
    if (this.client.isOpen) await this.client.disconnect();
  }

  private isReady(): boolean {
    const { isOpen, isReady, masters } = this.client;
    return masters ? isClusterReady({ isOpen, masters }) : isReady === true;
  }

  private changed(state: BreakerState): void {
    this.entered[state] += 1;
    if (state === 'open') {
      const failure = this.breaker.lastFailure;
      this.logger.warn({
        msg: `redis circuit breaker open: Redis skipped for ${this.options.halfOpenAfterMs} ms`,
        breaker: state,
        error: failure && 'error' in failure ? failure.error.message : undefined,
      });
    } else if (state === 'half-open') {
      this.logger.log({ msg: 'redis circuit breaker half-open: one trial call decides', breaker: state });
    } else {
      this.logger.log({ msg: 'redis circuit breaker closed: Redis answers again', breaker: state });
    }
  }
}

/**
 * The command's answer, or a TaskCancelledError once the timeout aborts `signal` (node-redis cannot
 * take back a sent command, so it is left to finish unheard). The rejection waits for the event
 * loop's check phase: after this process stalled (GC, a long callback), timers run before the poll
 * phase reads an answer Redis sent in time, and that answer must win. A busy event loop is not a
 * slow Redis, and must not open the breaker.
 */
function answerUnlessAborted<T>(answer: Promise<T>, signal: AbortSignal, timeoutMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const giveUp = () =>
      setImmediate(() => reject(new TaskCancelledError(`redis did not answer within ${timeoutMs} ms`)));
    signal.addEventListener('abort', giveUp, { once: true });
    answer.then(
      (value) => {
        signal.removeEventListener('abort', giveUp);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', giveUp);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
