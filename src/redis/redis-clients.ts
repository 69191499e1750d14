import { Inject, Injectable, Logger } from '@nestjs/common';
import { Cluster, Redis, type ClusterNode, type ClusterOptions, type RedisOptions } from 'ioredis';
import { settleWithin } from '../common/settle-within.js';
import { SETTINGS } from '../config/config.module.js';
import type { Settings } from '../config/settings.js';
import { createRedisClient, reconnectDelayMs } from './redis-client.js';
import { BREAKER_DEFAULTS, RedisConnection } from './redis-connection.js';
import {
  cacheRedisEndpoint,
  ioredisClusterOptions,
  ioredisOptions,
  jobsRedisEndpoint,
  REDIS_COMMAND_TIMEOUT_MS,
  REDIS_CONNECT_TIMEOUT_MS,
} from './redis-endpoint.js';
import { RedisOutageLog, type RedisRole } from './redis-outage.js';

/** How long one client may take to close politely at shutdown before it is dropped. */
export const CLOSE_DEADLINE_MS = 1000;

type OnDuplicate = (copy: Redis | Cluster) => void;

/**
 * ioredis that hands its duplicates to `onDuplicate`: BullMQ's worker duplicates its connection for
 * its blocking reads, and that connection must be watched and dropped like ours.
 */
class TrackedRedis extends Redis {
  constructor(
    options: RedisOptions,
    private readonly onDuplicate: OnDuplicate,
  ) {
    super(options);
  }

  override duplicate(override?: Partial<RedisOptions>): Redis {
    const copy = super.duplicate(override);
    this.onDuplicate(copy);
    return copy;
  }
}

/** The same for a Redis Cluster, whose duplicate is another Cluster with connections to every node. */
class TrackedCluster extends Cluster {
  constructor(
    nodes: ClusterNode[],
    options: ClusterOptions,
    private readonly onDuplicate: OnDuplicate,
  ) {
    super(nodes, options);
  }

  override duplicate(overrideStartupNodes?: ClusterNode[], overrideOptions?: ClusterOptions): Cluster {
    const copy = super.duplicate(overrideStartupNodes, overrideOptions);
    this.onDuplicate(copy);
    return copy;
  }
}

/** Ends a connection at once: disconnect() only ends our half, and a frozen peer never closes its own. */
function dropConnection(client: Redis | Cluster): void {
  client.disconnect();
  for (const node of client instanceof Cluster ? client.nodes() : [client]) node.stream?.destroy();
}

/** The ioredis roles this module builds; BullMQ's duplicate of `jobs-queue` is `jobs-worker`. */
type IoredisRole = 'jobs-store' | 'jobs-queue';

/** What the service does while a role's Redis is gone, for its outage line. */
const MEANWHILE: Record<RedisRole, string> = {
  cache: 'predictions served from the model, rate limits counted per replica until it is back',
  'jobs-store': 'job routes answer 503 until it is back',
  'jobs-queue': 'chunks wait until Redis is back',
  'jobs-worker': 'this replica takes no chunk until it is back',
};

/**
 * What each ioredis role sets beside the shared policy (connect timeout, reconnect backoff, name).
 * The job store fails fast: no offline queue, one try per command, a command timeout, so job
 * routes answer 503 at once while Redis is gone or frozen. BullMQ's connection has the
 * `maxRetriesPerRequest: null` BullMQ requires and no command timeout: its commands wait out an
 * outage in the offline queue, and its worker's blocking read (on the duplicate) lasts seconds.
 */
const IOREDIS_OPTIONS: Record<IoredisRole, RedisOptions> = {
  'jobs-store': { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: REDIS_COMMAND_TIMEOUT_MS },
  'jobs-queue': { maxRetriesPerRequest: null },
};

/**
 * The one place that builds the process's Redis clients, one per role, each with the same policy:
 * the connect timeout, a command timeout (the cache's inside its circuit breaker), the reconnect
 * backoff, one outage line per role when its connection is lost and one when it is ready again,
 * and a shutdown deadline. Features ask for their role's client and never construct one; so the
 * connections of a replica are those docs/REDIS.md counts.
 *
 * The deadline: a Redis that is gone, frozen or partitioned never answers QUIT, and ioredis and
 * BullMQ wait for that answer (or for a reconnect) without a limit of their own. Each role gets
 * {@link CLOSE_DEADLINE_MS} to close politely, then its connections are dropped: sockets destroyed,
 * pending commands failed, reconnects stopped. No library offers this across node-redis, ioredis
 * and BullMQ, hence BullMQ is given ioredis instances built here, whose duplicates are ours too.
 */
@Injectable()
export class RedisClients {
  private readonly logger = new Logger('Redis');
  private readonly drops = new Map<RedisRole, Array<() => void>>();
  private readonly outages = new Map<RedisRole, RedisOutageLog>();
  private cacheConnection?: RedisConnection | null;
  private readonly ioredisClients = new Map<IoredisRole, Redis | Cluster>();

  constructor(@Inject(SETTINGS) private readonly settings: Settings) {}

  /**
   * The `cache` role (the prediction cache and the rate limiter, on `REDIS_URL`): node-redis
   * behind a timeout (`CACHE_TIMEOUT_MS`) and a circuit breaker; null without `REDIS_URL`.
   */
  cache(): RedisConnection | null {
    if (this.cacheConnection !== undefined) return this.cacheConnection;
    const endpoint = cacheRedisEndpoint(this.settings);
    if (!endpoint) return (this.cacheConnection = null);
    const { client, stop } = createRedisClient(endpoint, this.outageLog('cache'));
    this.add('cache', () => {
      stop();
      if (client.isOpen) client.disconnect().catch(() => undefined);
    });
    this.cacheConnection = new RedisConnection(client, {
      timeoutMs: this.settings.cacheTimeoutMs,
      ...BREAKER_DEFAULTS,
    });
    return this.cacheConnection;
  }

  /** The `jobs-store` role: ioredis on the jobs Redis that fails fast (a `Cluster` on a cluster). */
  jobsStore(): Redis | Cluster {
    return this.ioredis('jobs-store');
  }

  /**
   * The `jobs-queue` role: BullMQ's ioredis on the jobs Redis, shared by its queue and worker. The
   * worker's duplicate for its blocking reads is the `jobs-worker` role.
   */
  jobsQueue(): Redis | Cluster {
    return this.ioredis('jobs-queue');
  }

  /** Whether one of `roles` has lost its Redis and not got it back. */
  inOutage(...roles: RedisRole[]): boolean {
    return roles.some((role) => this.outages.get(role)?.inOutage === true);
  }

  /**
   * Gives `close` (QUIT, a BullMQ close) {@link CLOSE_DEADLINE_MS} to finish, then drops the roles'
   * connections, which also ends a close still waiting on them. Never throws.
   */
  async close(roles: RedisRole | readonly RedisRole[], close: () => Promise<unknown>): Promise<void> {
    const closing = typeof roles === 'string' ? [roles] : roles;
    if (!(await settleWithin(close(), CLOSE_DEADLINE_MS))) {
      this.logger.warn({
        msg: `redis (${closing.join(', ')}) did not close within ${CLOSE_DEADLINE_MS} ms: dropping its connections`,
      });
    }
    for (const role of closing) this.drop(role);
  }

  /** One client per role, a `Cluster` when the jobs endpoint is one; a second ask gets the same. */
  private ioredis(role: IoredisRole): Redis | Cluster {
    const built = this.ioredisClients.get(role);
    if (built) return built;
    const endpoint = jobsRedisEndpoint(this.settings);
    if (!endpoint) throw new Error(`redis (${role}) asked for without JOBS_REDIS_URL or REDIS_URL`);
    const options: RedisOptions = {
      connectionName: `sentiment-api:${role}`,
      connectTimeout: REDIS_CONNECT_TIMEOUT_MS,
      // The shared backoff: BullMQ's own would grow to 20 s, and the roles would come back apart.
      retryStrategy: reconnectDelayMs,
      ...IOREDIS_OPTIONS[role],
    };
    const onDuplicate = (copy: Redis | Cluster) => this.own(role === 'jobs-queue' ? 'jobs-worker' : role, copy);
    let client: Redis | Cluster;
    if (endpoint.cluster) {
      const cluster = ioredisClusterOptions(endpoint, options);
      client = new TrackedCluster(cluster.nodes, cluster.options, onDuplicate);
    } else {
      client = new TrackedRedis(ioredisOptions(endpoint, options), onDuplicate);
    }
    this.own(role, client);
    this.ioredisClients.set(role, client);
    return client;
  }

  /**
   * Watches an ioredis client of `role` (one warning per outage, never the URL; one line when it is
   * ready again) and records how to drop it. Without an 'error' listener ioredis would print every
   * failed reconnect.
   */
  private own(role: RedisRole, client: Redis | Cluster): void {
    const outage = this.outageLog(role);
    client.on('error', (error: Error) => outage.failed(error));
    client.on('ready', () => outage.recovered());
    this.add(role, () => dropConnection(client));
  }

  private outageLog(role: RedisRole): RedisOutageLog {
    let outage = this.outages.get(role);
    if (!outage) {
      outage = new RedisOutageLog(this.logger, role, MEANWHILE[role]);
      this.outages.set(role, outage);
    }
    return outage;
  }

  private add(role: RedisRole, drop: () => void): void {
    this.drops.set(role, [...(this.drops.get(role) ?? []), drop]);
  }

  private drop(role: RedisRole): void {
    for (const drop of this.drops.get(role) ?? []) drop();
    this.drops.delete(role);
  }
}
