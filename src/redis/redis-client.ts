import type { Logger } from '@nestjs/common';
import { createClient, type RedisClientType } from 'redis';

/** The shared connection's name in Redis (`CLIENT LIST`). */
export const SHARED_CONNECTION_NAME = 'sentiment-api';

/** Reconnect delays grow 100 ms, 200 ms, … up to this, so a restarted Redis is found within seconds. */
const MAX_RECONNECT_DELAY_MS = 2000;

export function reconnectDelayMs(retries: number): number {
  return Math.min(MAX_RECONNECT_DELAY_MS, 100 * 2 ** Math.min(retries, 10));
}

/**
 * A node-redis client for callers that must never wait on or crash because of Redis: it connects
 * in the background, reconnects by itself, fails calls at once while disconnected (no offline
 * queue), and logs one warning per outage. The URL is never logged: it may hold a password.
 */
export function createRedisClient(url: string, logger: Logger): RedisClientType {
  const client = createClient({
    url,
    // Named, so `CLIENT LIST` tells it from BullMQ's and the job store's connections.
    name: SHARED_CONNECTION_NAME,
    disableOfflineQueue: true,
    socket: { connectTimeout: 2000, reconnectStrategy: reconnectDelayMs },
  }) as RedisClientType;
  let outageReported = false;
  // Without an 'error' listener every dropped connection would crash the process; reconnect
  // attempts fail every few seconds, so only the first of an outage is logged.
  client.on('error', (error: Error) => {
    if (outageReported) return;
    outageReported = true;
    logger.warn({
      msg: 'redis unreachable; predictions served from the model, rate limits counted per replica until it is back',
      error: error.message,
    });
  });
  client.on('ready', () => {
    outageReported = false;
    logger.log({ msg: 'redis connected' });
  });
  // Not awaited: the app starts and serves without Redis while the reconnect strategy keeps trying.
  client.connect().catch(() => undefined);
  return client;
}
