import { createClient, createCluster, type RedisClientType, type RedisClusterType } from 'redis';
import {
  nodeRedisClusterOptions,
  nodeRedisOptions,
  REDIS_CONNECT_TIMEOUT_MS,
  type NodeRedisClientOptions,
  type RedisEndpoint,
} from './redis-endpoint.js';
import type { RedisOutageLog } from './redis-outage.js';

/** The cache role's connection name in Redis (`CLIENT LIST`). */
export const SHARED_CONNECTION_NAME = 'sentiment-api';

/** Reconnect delays grow 100 ms, 200 ms, … up to this, so a restarted Redis is found within seconds. */
const MAX_RECONNECT_DELAY_MS = 2000;

/** Every Redis client's reconnect backoff (node-redis `reconnectStrategy`, ioredis `retryStrategy`). */
export function reconnectDelayMs(retries: number): number {
  return Math.min(MAX_RECONNECT_DELAY_MS, 100 * 2 ** Math.min(retries, 10));
}

/** The cache's and limiter's client: one Redis, or a Redis Cluster (`REDIS_CLUSTER=true`). */
export type CacheClient = RedisClientType | RedisClusterType;

/** Whether the cache's client is a Cluster: callers that must route by slot ask this. */
export function isClusterClient(client: CacheClient): client is RedisClusterType {
  return 'masters' in client;
}

export interface CacheRedis {
  readonly client: CacheClient;
  /** Stops connecting in the background (a Cluster's first connection); the client is closed by its owner. */
  readonly stop: () => void;
}

const CLIENT_OPTIONS: NodeRedisClientOptions = {
  // Named, so `CLIENT LIST` tells it from BullMQ's and the job store's connections.
  name: SHARED_CONNECTION_NAME,
  disableOfflineQueue: true,
  socket: { connectTimeout: REDIS_CONNECT_TIMEOUT_MS, reconnectStrategy: reconnectDelayMs },
};

/**
 * A node-redis client for callers that must never wait on or crash because of Redis: it connects
 * in the background, reconnects by itself, fails calls at once while disconnected (no offline
 * queue), and tells `outage` when it is lost and back. The endpoint is never logged: it holds a password.
 */
export function createRedisClient(endpoint: RedisEndpoint, outage: RedisOutageLog): CacheRedis {
  if (endpoint.cluster) return connectCluster(endpoint, outage);
  const client = createClient(nodeRedisOptions(endpoint, CLIENT_OPTIONS)) as RedisClientType;
  // Without an 'error' listener every dropped connection would crash the process.
  client.on('error', (error: Error) => outage.failed(error));
  client.on('ready', () => outage.recovered());
  // Not awaited: the app starts and serves without Redis while the reconnect strategy keeps trying.
  client.connect().catch(() => undefined);
  return { client, stop: () => undefined };
}

/** A Cluster is usable while it knows its slots and one of its masters answers (calls to the others fail fast). */
export function isClusterReady(cluster: Pick<RedisClusterType, 'isOpen' | 'masters'>): boolean {
  return cluster.isOpen && cluster.masters.some(({ client }) => isNodeReady(client));
}

function isNodeReady(client: RedisClusterType['masters'][number]['client']): boolean {
  return client !== undefined && 'isReady' in client && client.isReady;
}

/** How long one look at the seed node's slot map may take (connect, then CLUSTER SLOTS). */
const SLOT_MAP_PROBE_MS = 2000;

/**
 * node-redis reconnects a Cluster's node connections by itself, but neither retries a first
 * connection that found no seed node nor tells when a node is back: both are done here, on timers
 * that hold no process open. An outage ends when every master answers again.
 *
 * Nor does node-redis v4 follow a failover: it reloads its slot map only on a MOVED or ASK reply
 * (redis/node-redis#2141, #2806, both open), and a killed master answers nothing, so the slots its
 * replica took over would fail for good. While a master is unreachable, the outage watch therefore
 * asks the seed node for the slot map; once that names another master for some slot, the client is
 * reconnected (disconnect, connect: node-redis's one public way to load the map again). Calls fail
 * fast (BYPASS) for the few milliseconds that takes. A seed that cannot answer changes nothing.
 */
function connectCluster(endpoint: RedisEndpoint, outage: RedisOutageLog): CacheRedis {
  const client = createCluster(nodeRedisClusterOptions(endpoint, CLIENT_OPTIONS)) as RedisClusterType;
  let stopped = false;
  /** Set from a connect until it succeeds (its retries included): no failover check meanwhile. */
  let connecting = false;
  let timer: NodeJS.Timeout | undefined;
  const later = (run: () => void, attempt: number) => {
    if (!stopped) timer = setTimeout(run, reconnectDelayMs(attempt)).unref();
  };
  const followFailover = async () => {
    if (connecting || !client.isOpen || !(await slotMapMoved(client, endpoint))) return;
    if (stopped || connecting) return;
    await client.disconnect().catch(() => undefined);
    if (!stopped) await connect(0);
  };
  const watch = (attempt: number) =>
    later(() => {
      if (!outage.inOutage) return;
      const { isOpen, masters } = client;
      if (isOpen && masters.length > 0 && masters.every(({ client: node }) => isNodeReady(node))) outage.recovered();
      else void followFailover().finally(() => watch(attempt + 1));
    }, attempt);
  client.on('error', (error: Error) => {
    const first = !outage.inOutage;
    outage.failed(error);
    if (first) watch(0);
  });
  const connect = (attempt: number): Promise<void> => {
    connecting = true;
    return client.connect().then(
      () => {
        connecting = false;
        // Stopped (shut down) while connecting: what the connect opened is closed again.
        if (stopped) void client.disconnect().catch(() => undefined);
        else outage.recovered();
      },
      (error: Error) => {
        outage.failed(error);
        later(() => void connect(attempt + 1), attempt);
      },
    );
  };
  void connect(0);
  return {
    client,
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

/**
 * Whether the seed node's slot map names another master for some slot than `cluster`'s own map
 * (a replica took over a dead master's slots); false when the seed does not answer in time.
 */
async function slotMapMoved(cluster: RedisClusterType, endpoint: RedisEndpoint): Promise<boolean> {
  const seed = createClient(
    nodeRedisOptions(endpoint, { socket: { connectTimeout: SLOT_MAP_PROBE_MS, reconnectStrategy: false } }),
  );
  seed.on('error', () => undefined);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('slot map probe timed out')), SLOT_MAP_PROBE_MS).unref();
  });
  try {
    const shards = await Promise.race([seed.connect().then(() => seed.clusterSlots()), timedOut]);
    return shards.some(({ from, to, master }) =>
      [from, to].some((slot) => cluster.slots[slot]?.master.address !== `${master.ip}:${master.port}`),
    );
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
    if (seed.isOpen) await seed.disconnect().catch(() => undefined);
  }
}
