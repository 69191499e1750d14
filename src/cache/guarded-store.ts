import { RedisUnavailableError } from '../redis/redis-connection.js';
import type { CacheOperation, CacheStats } from './cache-stats.js';
import type { PredictionStore } from './prediction-store.js';

/** A store call's outcome: done, not attempted (store known down), or failed/timed out. */
export type Guarded<T> = { status: 'ok'; value: T } | { status: 'skipped' } | { status: 'failed' };

/**
 * The store as requests see it: never throwing, and every attempted call reported to the stats.
 * Timeouts and the circuit breaker belong to the Redis connection; a call it did not send (Redis
 * disconnected, breaker open) is `skipped`, anything else that went wrong `failed`.
 */
export class GuardedStore {
  constructor(
    private readonly store: PredictionStore,
    private readonly stats: CacheStats,
  ) {}

  getMany(keys: readonly string[]): Promise<Guarded<unknown[]>> {
    return this.call('mget', () => this.store.getMany(keys));
  }

  setMany(entries: readonly (readonly [string, unknown])[], ttlSeconds: number): Promise<Guarded<void>> {
    return this.call('mset', () => this.store.setMany(entries, ttlSeconds));
  }

  private async call<T>(operation: CacheOperation, run: () => Promise<T>): Promise<Guarded<T>> {
    const started = performance.now();
    try {
      const value = await run();
      this.stats.reportOperation(operation, (performance.now() - started) / 1000, true);
      return { status: 'ok', value };
    } catch (error) {
      if (error instanceof RedisUnavailableError) return { status: 'skipped' };
      this.stats.reportOperation(operation, (performance.now() - started) / 1000, false);
      return { status: 'failed' };
    }
  }
}
