import { Logger } from '@nestjs/common';
import {
  BrokenCircuitError,
  circuitBreaker,
  CircuitState,
  ConsecutiveBreaker,
  handleAll,
  timeout,
  TimeoutStrategy,
  wrap,
  type CircuitBreakerPolicy,
  type IPolicy,
} from 'cockatiel';
import type { RedisClientType } from 'redis';

export type BreakerState = 'closed' | 'half-open' | 'open';
export const BREAKER_STATES: readonly BreakerState[] = ['closed', 'half-open', 'open'];

export interface RedisPolicyOptions {
  /** Longest wait for one call unless the caller asks for less: a frozen server never answers. */
  timeoutMs: number;
  /** Consecutive failed or timed-out calls that open the breaker. */
  failureThreshold: number;
  /** How long an open breaker skips Redis before it lets one trial call through. */
  halfOpenAfterMs: number;
}

/**
 * Three failed calls in a row mean Redis is in trouble; then one trial a second finds out when it
 * is back, while every other call skips it.
 */
export const BREAKER_DEFAULTS = { failureThreshold: 3, halfOpenAfterMs: 1000 } as const;

/** What the connection itself needs of a node-redis client (the commands are the callers'). */
export type ConnectionClient = Pick<RedisClientType, 'isReady' | 'isOpen' | 'disconnect'>;

export type BreakerListener = (state: BreakerState) => void;

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
 * The one Redis connection of this process, shared by the prediction cache and the rate limiter,
 * with cockatiel's policies around every call: a timeout, inside a consecutive-failures circuit
 * breaker. Callers never wait on a hung Redis for longer than the timeout, and once it keeps
 * failing they skip it (RedisUnavailableError) until a trial call finds it answering again.
 */
export class RedisConnection<Client extends ConnectionClient = RedisClientType> {
  private readonly logger = new Logger('Redis');
  private readonly breaker: CircuitBreakerPolicy;
  /** The breaker around a timeout, one pair per timeout callers use. */
  private readonly policies = new Map<number, IPolicy>();
  private readonly entered: Record<BreakerState, number> = { closed: 0, 'half-open': 0, open: 0 };
  private readonly listeners: BreakerListener[] = [];

  constructor(
    private readonly client: Client,
    private readonly options: RedisPolicyOptions,
  ) {
    this.breaker = circuitBreaker(handleAll, {
      halfOpenAfter: options.halfOpenAfterMs,
      breaker: new ConsecutiveBreaker(options.failureThreshold),
    });
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
    return this.client.isReady && this.breakerState === 'closed';
  }

  onBreakerChange(listener: BreakerListener): void {
    this.listeners.push(listener);
  }

  /**
   * Runs one command through the policies, with at most `timeoutMs` (default: the connection's).
   * Throws RedisUnavailableError when it was not sent, cockatiel's TaskCancelledError when it
   * took longer than the timeout, or the command's error. Every caller shares the one breaker.
   */
  async execute<T>(command: (client: Client) => Promise<T>, timeoutMs = this.options.timeoutMs): Promise<T> {
    // Disconnected: node-redis fails at once anyway; not counted, the breaker is about slow answers.
    if (!this.client.isReady) throw new RedisUnavailableError('not connected');
    // cockatiel queues calls behind the half-open trial; here they skip Redis, so only the trial waits.
    if (this.breaker.state === CircuitState.HalfOpen) throw new RedisUnavailableError('trial call in progress');
    try {
      return await this.policy(timeoutMs).execute(() => command(this.client));
    } catch (error) {
      if (error instanceof BrokenCircuitError) throw new RedisUnavailableError('circuit open', { cause: error });
      throw error;
    }
  }

  async close(): Promise<void> {
    // disconnect, not quit: a hung Redis would never answer QUIT, and nothing here needs flushing.
    if (this.client.isOpen) await this.client.disconnect();
  }

  private policy(timeoutMs: number): IPolicy {
    let policy = this.policies.get(timeoutMs);
    if (!policy) {
      // Aggressive: the caller gets its answer at the deadline; node-redis cannot cancel a sent command.
      policy = wrap(this.breaker, timeout(timeoutMs, TimeoutStrategy.Aggressive));
      this.policies.set(timeoutMs, policy);
    }
    return policy;
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
    for (const listener of this.listeners) listener(state);
  }
}
