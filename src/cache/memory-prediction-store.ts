import { memoryStore, type MemoryStore } from 'cache-manager';
import type { PredictionStore } from './prediction-store.js';

/** The embedded default: an LRU of at most `maxEntries` predictions inside this process. */
export class MemoryPredictionStore implements PredictionStore {
  readonly backend = 'memory';
  private readonly store: MemoryStore;

  constructor(maxEntries: number) {
    // Values are fresh arrays nobody mutates, so the defensive deep clone would only cost time.
    // No default TTL (0): every write passes its own.
    this.store = memoryStore({ max: maxEntries, ttl: 0, shouldCloneBeforeSet: false });
  }

  isUp(): boolean {
    return true;
  }

  getMany(keys: readonly string[]): Promise<unknown[]> {
    return this.store.mget(...keys);
  }

  setMany(entries: readonly (readonly [string, unknown])[], ttlSeconds: number): Promise<void> {
    return this.store.mset(
      entries.map(([key, value]) => [key, value]),
      ttlSeconds * 1000,
    );
  }

  close(): Promise<void> {
    return this.store.reset();
  }
}
