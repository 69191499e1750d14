import { createClient } from 'redis';
import { spawnReaped } from './reaped-child.js';
import { startRedisServer, type RedisServer } from './redis-server.js';
import { until } from './until.js';

export interface RedisClusterOptions {
  /** Masters the slots are spread over (at least 3: Redis Cluster needs a majority to fail over). */
  masters?: number;
  /** Replicas of each master; with 1, killing a master fails its slots over to its replica. */
  replicasPerMaster?: 0 | 1;
}

export interface RedisCluster {
  /** One seed node, as REDIS_URL / JOBS_REDIS_URL name it with REDIS_CLUSTER=true. */
  readonly url: string;
  /** Every node's port, masters first as created (replicas may be promoted later). */
  readonly ports: readonly number[];
  /** The ports of the nodes that are masters now, as the seed's CLUSTER NODES reports them. */
  masterPorts(): Promise<number[]>;
  /** The port of the live master that serves `slot` now, as a live node's CLUSTER NODES reports it. */
  masterOf(slot: number): Promise<number | undefined>;
  /**
   * Crashes (SIGKILL) the master on `port` (default: a master other than the seed). With replicas,
   * wait for `state()` to be `ok` again: its replica then holds its slots.
   */
  killMaster(port?: number): Promise<number>;
  /** `cluster_state` as a live node reports it: `ok` once every slot is served. */
  state(): Promise<string>;
  /** Stops every node still running. */
  stop(): Promise<void>;
}

const CREATE_TIMEOUT_MS = 20_000;
const READY_TIMEOUT_MS = 20_000;
/** Short, so a killed master is noticed and failed over within a few seconds. */
const NODE_TIMEOUT_MS = 2000;

/**
 * A Redis Cluster on loopback: `redis-server --cluster-enabled yes` per node (each in its own data
 * folder, with its own nodes.conf), joined by `redis-cli --cluster create`, returned once every node
 * reports `cluster_state:ok` and agrees on the slots. Nothing is persisted but the cluster's state.
 */
export async function startRedisCluster({
  masters = 3,
  replicasPerMaster = 0,
}: RedisClusterOptions = {}): Promise<RedisCluster> {
  const config = [
    '--cluster-enabled',
    'yes',
    // Relative to the node's own --dir.
    '--cluster-config-file',
    'nodes.conf',
    '--cluster-node-timeout',
    String(NODE_TIMEOUT_MS),
    '--save',
    '',
    '--appendonly',
    'no',
    // A replica's first sync starts at once (Redis waits 5 s by default for more replicas to share
    // it): a replica that has not synced refuses to take over its master's slots.
    '--repl-diskless-sync-delay',
    '0',
  ];
  const count = masters * (1 + replicasPerMaster);
  const servers: RedisServer[] = [];
  const stop = async () => {
    await Promise.all(servers.map((server) => server.stop()));
  };
  try {
    for (let i = 0; i < count; i++) servers.push(await startRedisServer({ own: true, config }));
    const ports = servers.map((server) => Number(new URL(server.url).port));
    await createCluster(ports, replicasPerMaster);
    const alive = new Set(ports);
    const nodeOf = (port: number) => servers[ports.indexOf(port)];
    const ask = async (port: number, args: string[]): Promise<string> => {
      const client = createClient({
        socket: { host: '127.0.0.1', port, connectTimeout: 2000, reconnectStrategy: false },
      });
      client.on('error', () => undefined);
      await client.connect();
      try {
        return await client.sendCommand<string>(args);
      } finally {
        await client.disconnect();
      }
    };
    const anyAlive = () => [...alive][0];
    const liveMasters = async () =>
      parseNodes(await ask(anyAlive(), ['CLUSTER', 'NODES'])).filter(
        ({ flags }) => flags.includes('master') && !flags.some((flag) => flag.startsWith('fail')),
      );
    const cluster: RedisCluster = {
      url: servers[0].url,
      ports,
      masterPorts: async () => (await liveMasters()).map(({ port }) => port),
      masterOf: async (slot) =>
        (await liveMasters()).find(({ slots }) => slots.some(([from, to]) => from <= slot && slot <= to))?.port,
      killMaster: async (port) => {
        const masterPorts = await cluster.masterPorts();
        const victim = port ?? masterPorts.find((candidate) => candidate !== ports[0]) ?? masterPorts[0];
        if (!masterPorts.includes(victim)) throw new Error(`127.0.0.1:${victim} is not a master`);
        await nodeOf(victim).kill();
        alive.delete(victim);
        return victim;
      },
      state: async () => /cluster_state:(\w+)/.exec(await ask(anyAlive(), ['CLUSTER', 'INFO']))?.[1] ?? 'unknown',
      stop,
    };
    await until(async () => {
      const states = await Promise.all(
        ports.map((port) => ask(port, ['CLUSTER', 'INFO']).then((info) => /cluster_state:ok/.test(info))),
      );
      return states.every(Boolean);
    }, READY_TIMEOUT_MS);
    // Every replica synced with its master, so each can take over (`cluster-replica-validity-factor`).
    await until(async () => {
      const links = await Promise.all(
        ports.map((port) => ask(port, ['INFO', 'replication']).then((info) => !/master_link_status:down/.test(info))),
      );
      return links.every(Boolean);
    }, READY_TIMEOUT_MS);
    return cluster;
  } catch (error) {
    await stop();
    throw error;
  }
}

interface NodeLine {
  port: number;
  flags: string[];
  /** Slot ranges served, inclusive (`[from, to]`); slots being migrated (`[…->-…]`) are left out. */
  slots: Array<[number, number]>;
}

/**
 * CLUSTER NODES: `<id> <ip:port@cport> <flags> <master> <ping> <pong> <epoch> <link> <slot>…`, the
 * flags comma-separated (`myself,master`, `master,fail?`, `slave`).
 */
function parseNodes(text: string): NodeLine[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const fields = line.trim().split(' ');
      return {
        port: Number(/:(\d+)@/.exec(fields[1])?.[1]),
        flags: fields[2].split(','),
        slots: fields
          .slice(8)
          .filter((range) => !range.startsWith('['))
          .map((range) => {
            const [from, to = from] = range.split('-').map(Number);
            return [from, to] as [number, number];
          }),
      };
    });
}

async function createCluster(ports: readonly number[], replicasPerMaster: number): Promise<void> {
  const args = [
    '--cluster',
    'create',
    ...ports.map((port) => `127.0.0.1:${port}`),
    '--cluster-replicas',
    String(replicasPerMaster),
    '--cluster-yes',
  ];
  const { child, exited } = spawnReaped('redis-cli', args);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), CREATE_TIMEOUT_MS);
  const { code, signal } = await exited.finally(() => clearTimeout(timer));
  // It waits for the nodes to agree on the slots before it exits.
  if (code !== 0 || !/\[OK\] All 16384 slots covered/.test(output)) {
    throw new Error(`redis-cli --cluster create failed (${signal ?? code}):\n${output}`);
  }
}
