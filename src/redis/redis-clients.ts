import { Injectable, Logger } from '@nestjs/common';
import { Cluster, Redis, type ClusterNode, type ClusterOptions, type RedisOptions } from 'ioredis';
import { settleWithin } from '../common/settle-within.js';
import type { CacheRedis } from './redis-client.js';
import { ioredisClusterOptions, ioredisOptions, type RedisEndpoint } from './redis-endpoint.js';

/** How long one client may take to close politely at shutdown before it is dropped. */
export const CLOSE_DEADLINE_MS = 1000;

/**
 * ioredis that hands its duplicates to `track`: BullMQ's worker duplicates its connection for its
 * blocking reads, and shutdown must be able to drop those too.
 */
class TrackedRedis extends Redis {
  constructor(
    options: RedisOptions,
    private readonly track: (client: Redis | Cluster) => void,
  ) {
    super(options);
  }

  override duplicate(override?: Partial<RedisOptions>): Redis {
    const copy = super.duplicate(override);
    this.track(copy);
    return copy;
  }
}

/** The same for a Redis Cluster, whose duplicate is another Cluster with connections to every node. */
class TrackedCluster extends Cluster {
  constructor(
    nodes: ClusterNode[],
    options: ClusterOptions,
    private readonly track: (client: Redis | Cluster) => void,
  ) {
    super(nodes, options);
  }

  override duplicate(overrideStartupNodes?: ClusterNode[], overrideOptions?: ClusterOptions): Cluster {
    const copy = super.duplicate(overrideStartupNodes, overrideOptions);
    this.track(copy);
    return copy;
  }
}

/** Ends a connection at once: disconnect() only ends our half, and a frozen peer never closes its own. */
function dropConnection(client: Redis | Cluster): void {
  client.disconnect();
  for (const node of client instanceof Cluster ? client.nodes() : [client]) node.stream?.destroy();
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

  /**
   * An ioredis client for `role` on `endpoint`, a `Cluster` when the endpoint is one; its duplicates
   * belong to the same role.
   */
  ioredis(role: string, endpoint: RedisEndpoint, options: RedisOptions): Redis | Cluster {
    const track = (client: Redis | Cluster): void => this.add(role, () => dropConnection(client));
    const named = { connectionName: `sentiment-api:${role}`, ...options };
    let client: Redis | Cluster;
    if (endpoint.cluster) {
      const cluster = ioredisClusterOptions(endpoint, named);
      client = new TrackedCluster(cluster.nodes, cluster.options, track);
    } else {
      client = new TrackedRedis(ioredisOptions(endpoint, named), track);
    }
    track(client);
    return client;
  }

  /** Records the node-redis client for `role` (its disconnect() destroys the sockets). */
  nodeRedis(role: string, { client, stop }: CacheRedis): CacheRedis['client'] {
    this.add(role, () => {
      stop();
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
