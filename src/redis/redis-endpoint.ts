import { readFileSync } from 'node:fs';
import type { ClusterOptions, RedisOptions } from 'ioredis';
import type { RedisClientOptions, RedisClusterOptions } from 'redis';
import type { Settings } from '../config/settings.js';

/**
 * One Redis as the settings describe it: its URL, with the user and password settings taking the
 * place of the URL's, the TLS files for `rediss://`, and whether it is a Cluster (the URL then
 * names one seed node). The one place that turns settings into node-redis and ioredis options,
 * so the cache, the limiter, the job store and BullMQ connect alike. Holds a password: never log it.
 */
export interface RedisEndpoint {
  readonly host: string;
  readonly port: number;
  readonly database?: number;
  readonly username?: string;
  readonly password?: string;
  /** Set for `rediss://`. Certificates are always verified: there is no option to turn that off. */
  readonly tls?: RedisTls;
  readonly cluster: boolean;
}

/**
 * How long every Redis client (cache, job store, BullMQ) may take to open a connection before that
 * attempt counts as failed and the reconnect backoff takes over: a black-holed address must not hold
 * a connect for the libraries' defaults (ioredis 10 s, node-redis 5 s).
 */
export const REDIS_CONNECT_TIMEOUT_MS = 2000;

/**
 * The longest the job store waits for one command's answer (ioredis `commandTimeout`): a frozen
 * Redis keeps its connection and answers nothing, and job routes must answer 503 rather than hang.
 * Generous, so a stalled process or a busy Redis is not taken for a frozen one. The cache's timeout
 * is a setting (`CACHE_TIMEOUT_MS`, inside its breaker); BullMQ's connections have none: its
 * worker's blocking read waits for seconds by design.
 */
export const REDIS_COMMAND_TIMEOUT_MS = 5000;

/** PEM contents; without `ca`, Node's CAs (NODE_EXTRA_CA_CERTS included) verify the server. */
export interface RedisTls {
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
}

/** The cache's and rate limiter's Redis (`REDIS_URL`), or undefined without one. */
export function cacheRedisEndpoint(settings: Settings): RedisEndpoint | undefined {
  const { redisUrl: url } = settings;
  return url === undefined
    ? undefined
    : endpoint(url, settings.redisUsername, settings.redisPassword, settings.redisCluster, settings);
}

/** The jobs' Redis (`JOBS_REDIS_URL`, else `REDIS_URL`), or undefined without one. */
export function jobsRedisEndpoint(settings: Settings): RedisEndpoint | undefined {
  const { jobs } = settings;
  return jobs.redisUrl === undefined
    ? undefined
    : endpoint(jobs.redisUrl, jobs.redisUsername, jobs.redisPassword, jobs.redisCluster, settings);
}

function endpoint(
  url: string,
  username: string | undefined,
  password: string | undefined,
  cluster: boolean,
  settings: Settings,
): RedisEndpoint {
  const parsed = new URL(url);
  const database = parsed.pathname.length > 1 ? Number(parsed.pathname.slice(1)) : undefined;
  const file = (path: string | undefined) => (path === undefined ? undefined : readFileSync(path));
  return {
    // An IPv6 host comes bracketed from the URL; sockets want it bare.
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: parsed.port === '' ? 6379 : Number(parsed.port),
    database: Number.isInteger(database) ? database : undefined,
    username: username ?? (decodeURIComponent(parsed.username) || undefined),
    password: password ?? (decodeURIComponent(parsed.password) || undefined),
    tls:
      parsed.protocol === 'rediss:'
        ? {
            ca: file(settings.redisTlsCaFile),
            cert: file(settings.redisTlsCertFile),
            key: file(settings.redisTlsKeyFile),
          }
        : undefined,
    cluster,
  };
}

/** What a node-redis client sets beside the endpoint (timeouts, reconnects, offline queue, name). */
export type NodeRedisClientOptions = Omit<
  RedisClientOptions,
  'url' | 'username' | 'password' | 'database' | 'socket'
> & {
  // false: no reconnects (a one-off connection, as the Cluster's slot map probe opens).
  socket?: { connectTimeout?: number; reconnectStrategy?: false | ((retries: number) => number) };
};

function nodeRedisSocket(endpoint: RedisEndpoint, options: NodeRedisClientOptions) {
  const { tls } = endpoint;
  return tls ? { ...options.socket, tls: true as const, ...tls } : { ...options.socket, tls: false as const };
}

/** Options of node-redis `createClient` for one Redis node. */
export function nodeRedisOptions(endpoint: RedisEndpoint, options: NodeRedisClientOptions): RedisClientOptions {
  const { host, port, username, password, database } = endpoint;
  return { ...options, username, password, database, socket: { ...nodeRedisSocket(endpoint, options), host, port } };
}

/**
 * Options of node-redis `createCluster`: the URL's node is the seed; every node the client finds
 * gets the same credentials, TLS and client options (a Cluster has only database 0).
 */
export function nodeRedisClusterOptions(endpoint: RedisEndpoint, options: NodeRedisClientOptions): RedisClusterOptions {
  const { host, port, username, password } = endpoint;
  return {
    rootNodes: [{ socket: { host, port } }],
    defaults: { ...options, username, password, socket: nodeRedisSocket(endpoint, options) },
  };
}

function ioredisTls(endpoint: RedisEndpoint): RedisOptions['tls'] {
  return endpoint.tls && { ...endpoint.tls };
}

/** Options of an ioredis `Redis` for one Redis node. */
export function ioredisOptions(endpoint: RedisEndpoint, options: RedisOptions): RedisOptions {
  const { host, port, username, password, database } = endpoint;
  return { ...options, host, port, username, password, db: database, tls: ioredisTls(endpoint) };
}

/**
 * An ioredis `Cluster`'s seed node and options for the same client options: ioredis reconnects a
 * Cluster as a whole (`clusterRetryStrategy`) and keeps the offline queue at the Cluster; the rest
 * goes to each node's connection.
 */
export function ioredisClusterOptions(
  endpoint: RedisEndpoint,
  { retryStrategy, enableOfflineQueue, ...options }: RedisOptions,
): { nodes: { host: string; port: number }[]; options: ClusterOptions } {
  const { host, port, username, password } = endpoint;
  return {
    nodes: [{ host, port }],
    options: {
      clusterRetryStrategy: retryStrategy && ((times: number) => retryStrategy(times)),
      enableOfflineQueue,
      redisOptions: { ...options, username, password, tls: ioredisTls(endpoint) },
    },
  };
}
