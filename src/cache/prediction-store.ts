/** Which store holds the cached predictions. */
export type CacheBackend = 'redis' | 'memory';

/**
 * Where cached predictions live: Redis, or an LRU inside this process. Values are whatever
 * `encodeOutput` (prediction-codec.ts) produced; a store hands back what it holds and lets the
 * caller judge it (`decodeOutput`).
 * A call the store did not even attempt (Redis down or its breaker open) rejects with
 * RedisUnavailableError.
 */
export interface PredictionStore {
  readonly backend: CacheBackend;
  /** Whether the store answers normally right now (Redis: connected and its breaker closed). */
  isUp(): boolean;
  /** One value per key, in key order; `undefined` where nothing is stored. */
  getMany(keys: readonly string[]): Promise<unknown[]>;
  /** Stores every entry with the same time to live, in one round trip. */
  setMany(entries: readonly (readonly [string, unknown])[], ttlSeconds: number): Promise<void>;
  close(): Promise<void>;
}

export const PREDICTION_STORE = Symbol('PREDICTION_STORE');
