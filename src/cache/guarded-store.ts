import { Logger } from '@nestjs/common';
import { withTimeout } from '../common/with-timeout.js';
import type { CacheOperation, CacheStats } from './cache-stats.js';
import type { CircuitBreaker } from './circuit-breaker.js';
import type { PredictionStore } from './prediction-store.js';

/** A store call's outcome: done, not attempted (store known down), or failed/timed out. */
export type Guarded<T> = { status: 'ok'; value: T } | { status: 'skipped' } | { status: 'failed' };

export class CacheTimeoutError extends Error {
  constructor(operation: CacheOperation, ms: number) {
    super(`cache ${operation} took longer than ${ms} ms`);
    this.name = 'CacheTimeoutError';
  }
}

/**
 * The store as requests see it: every call bounded by a timeout, never throwing, skipped at once
 * while the store is disconnected or the circuit breaker is open, and reported to the stats.
 */
export class GuardedStore {
  private readonly logger = new Logger('PredictionCache');

  constructor(
    private readonly store: PredictionStore,
    private readonly breaker: CircuitBreaker,
    private readonly timeoutMs: number,
    private readonly stats: CacheStats,
  ) {}

  getMany(keys: readonly string[]): Promise<Guarded<unknown[]>> {
    return this.call('mget', () => this.store.getMany(keys));
  }

  setMany(entries: readonly (readonly [string, unknown])[], ttlSeconds: number): Promise<Guarded<void>> {
    return this.call('mset', () => this.store.setMany(entries, ttlSeconds));
  }

  private async call<T>(operation: CacheOperation, run: () => Promise<T>): Promise<Guarded<T>> {
    if (!this.store.isUp() || !this.breaker.tryAcquire()) return { status: 'skipped' };
    const started = performance.now();
    const wasOpen = this.breaker.state !== 'closed';
    try {
      const value = await withTimeout(run(), this.timeoutMs, () => new CacheTimeoutError(operation, this.timeoutMs));
      this.stats.reportOperation(operation, (performance.now() - started) / 1000, true);
      this.breaker.recordSuccess();
      if (wasOpen) this.logger.log({ msg: 'prediction cache answers again' });
      return { status: 'ok', value };
    } catch (error) {
      this.stats.reportOperation(operation, (performance.now() - started) / 1000, false);
      if (!wasOpen && this.breaker.recordFailure() === 'open') {
        this.logger.warn({
          msg: 'prediction cache keeps failing; skipping it for a while',
          operation,
          error: (error as Error).message,
        });
      }
      return { status: 'failed' };
    }
  }
}
