import { Injectable, Logger } from '@nestjs/common';
import { Redis, type RedisOptions } from 'ioredis';
import type { RedisClientType } from 'redis';
import { settleWithin } from '../common/settle-within.js';

/** How long one client may take to close politely at shutdown before it is dropped. */
export const CLOSE_DEADLINE_MS = 1000;

/**
 * ioredis that hands its duplicates to `track`: BullMQ's worker duplicates its connection for its
 * blocking reads, and shutdown must be able to drop those too.
 */
class TrackedRedis extends Redis {
  constructor(
    url: string,
    options: RedisOptions,
    private readonly track: (client: Redis) => void,
  ) {
    super(url, options);
  }

  override duplicate(override?: Partial<RedisOptions>): Redis {
    const copy = super.duplicate(override);
    this.track(copy);
    return copy;
  }
}

/**
 * Every Redis connection of this process, by role (`cache`, `jobs-store`, `jobs-queue`), so that a
 * shutdown ends each one whatever Redis does. A Redis that is gone, frozen or partitioned never
 * answers QUIT, and ioredis and BullMQ wait for that answer (or for a reconnect) without a limit
 * of their own: each role gets {@link CLOSE_DEADLINE_MS} to close politely, then its connections
 * are dropped: sockets destroyed, pending commands failed, reconnects stopped. No library offers
 * this across node-redis, ioredis and BullMQ, hence this registry.
 */
@Injectable()
export class RedisClients {
  private readonly logger = new Logger('Redis');
  private readonly drops = new Map<string, Array<() => void>>();

  /** An ioredis client for `role`; its duplicates belong to the same role. */
  ioredis(role: string, url: string, options: RedisOptions): Redis {
    const track = (client: Redis): void =>
      this.add(role, () => {
        client.disconnect();
        // disconnect() only ends our half: a frozen peer never closes its own, and the socket and
        // the commands waiting on it would stay.
        client.stream?.destroy();
      });
    const client = new TrackedRedis(url, { connectionName: `sentiment-api:${role}`, ...options }, track);
    track(client);
    return client;
  }

  /** Records a node-redis client for `role` (its disconnect() destroys the socket). */
  nodeRedis(role: string, client: RedisClientType): RedisClientType {
    this.add(role, () => {
      if (client.isOpen) client.disconnect().catch(() => undefined);
    });
    return client;
  }

  /**
   * Gives `close` (QUIT, a BullMQ close) {@link CLOSE_DEADLINE_MS} to finish, then drops the role's
   * connections, which also ends a close still waiting on them. Never throws.
   */
  async close(role: string, close: () => Promise<unknown>): Promise<void> {
    if (!(await settleWithin(close(), CLOSE_DEADLINE_MS))) {
      this.logger.warn({
        msg: `redis (${role}) did not close within ${CLOSE_DEADLINE_MS} ms: dropping its connections`,
      });
    }
    this.drop(role);
  }

  private add(role: string, drop: () => void): void {
    this.drops.set(role, [...(this.drops.get(role) ?? []), drop]);
  }

  private drop(role: string): void {
    for (const drop of this.drops.get(role) ?? []) drop();
    this.drops.delete(role);
  }
}
