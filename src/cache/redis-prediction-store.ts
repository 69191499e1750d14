import { Logger } from '@nestjs/common';
import { redisInsStore, type RedisStore } from 'cache-manager-redis-yet';
import type { RedisClientType } from 'redis';
import type { PredictionStore } from './prediction-store.js';
import { createResilientRedisClient } from './resilient-redis-client.js';

/**
 * Predictions in Redis through cache-manager-redis-yet. The client connects in the background
 * and reconnects by itself; while it is not connected `isUp()` is false and calls fail at once
 * instead of queueing, so a Redis outage costs requests nothing.
 */
export class RedisPredictionStore implements PredictionStore {
  readonly backend = 'redis';
  private readonly logger = new Logger(RedisPredictionStore.name);
  private readonly client: RedisClientType;
  private readonly store: RedisStore;

  constructor(url: string) {
    this.client = createResilientRedisClient(url, {
      logger: this.logger,
      outageMessage: 'redis cache unreachable; serving from the model until it is back',
      connectedMessage: 'redis cache connected',
    });
    this.store = redisInsStore(this.client);
  }

  isUp(): boolean {
    return this.client.isReady;
  }

  async getMany(keys: readonly string[]): Promise<unknown[]> {
    // Raw MGET rather than the store's mget: that one JSON-parses every value and rejects the
    // whole batch on one corrupt entry, where a corrupt entry should only be a miss.
    const values = await this.client.mGet([...keys]);
    return values.map((value) => (value === null ? undefined : parseOrRaw(value)));
  }

  setMany(entries: readonly (readonly [string, unknown])[], ttlSeconds: number): Promise<void> {
    // One MULTI of SET … PX: a single round trip, every entry with its TTL.
    return this.store.mset(
      entries.map(([key, value]) => [key, value]),
      ttlSeconds * 1000,
    );
  }

  async close(): Promise<void> {
    // disconnect, not quit: a hung Redis would never answer QUIT, and a cache has nothing to flush.
    if (this.client.isOpen) await this.client.disconnect();
  }
}

function parseOrRaw(value: string): unknown {
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}
