import { Logger } from '@nestjs/common';
import { redisInsStore, type RedisStore } from 'cache-manager-redis-yet';
import { createClient, type RedisClientType } from 'redis';
import type { PredictionStore } from './prediction-store.js';

/** Reconnect delays grow 100 ms, 200 ms, … up to this, so a restarted Redis is found within seconds. */
const MAX_RECONNECT_DELAY_MS = 2000;

export function reconnectDelayMs(retries: number): number {
  return Math.min(MAX_RECONNECT_DELAY_MS, 100 * 2 ** Math.min(retries, 10));
}

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
  private outageReported = false;

  constructor(url: string) {
    this.client = createClient({
      url,
      disableOfflineQueue: true,
      socket: { connectTimeout: 2000, reconnectStrategy: reconnectDelayMs },
    }) as RedisClientType;
    // Without an 'error' listener every dropped connection would crash the process. One warning
    // per outage (reconnect attempts fail every few seconds); the URL is never logged, it may
    // hold a password.
    this.client.on('error', (error: Error) => {
      if (this.outageReported) return;
      this.outageReported = true;
      this.logger.warn({
        msg: 'redis cache unreachable; serving from the model until it is back',
        error: error.message,
      });
    });
    this.client.on('ready', () => {
      this.outageReported = false;
      this.logger.log({ msg: 'redis cache connected' });
    });
    this.store = redisInsStore(this.client);
    // Not awaited: the app starts and serves without Redis. Failed attempts arrive as 'error'
    // events above while the reconnect strategy keeps trying.
    this.client.connect().catch(() => undefined);
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
