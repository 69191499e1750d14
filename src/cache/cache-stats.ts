import type { CacheBackend } from './prediction-store.js';

/**
 * What happened to each distinct text of a request: found (`hit`), not found and computed
 * (`miss`), looked up but the cache failed or timed out (`error`), or not looked up because the
 * cache was known to be down (`bypass`).
 */
export type CacheResult = 'hit' | 'miss' | 'error' | 'bypass';
export type CacheOperation = 'mget' | 'mset';
export type CacheOperationListener = (operation: CacheOperation, seconds: number, ok: boolean) => void;

/**
 * Counters of the prediction cache, for whoever reports them (the metrics module); knows
 * nothing about how they are exported.
 */
export class CacheStats {
  private readonly results: Record<CacheResult, number> = { hit: 0, miss: 0, error: 0, bypass: 0 };
  private readonly listeners: CacheOperationListener[] = [];

  constructor(
    /** Which store the cache uses. */
    readonly backend: CacheBackend,
    private readonly storeUp: () => boolean,
  ) {}

  /** Texts per result since the start, counted once per distinct text of a request. */
  totals(): Readonly<Record<CacheResult, number>> {
    return { ...this.results };
  }

  /** Whether the store answers right now: Redis connected and not tripped; always true in memory. */
  isUp(): boolean {
    return this.storeUp();
  }

  /** Observes every store call: its duration in seconds and whether it succeeded. */
  onOperation(listener: CacheOperationListener): void {
    this.listeners.push(listener);
  }

  count(result: CacheResult, texts: number): void {
    this.results[result] += texts;
  }

  reportOperation(operation: CacheOperation, seconds: number, ok: boolean): void {
    for (const listener of this.listeners) listener(operation, seconds, ok);
  }
}
