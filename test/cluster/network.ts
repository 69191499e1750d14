import { execFileSync } from 'node:child_process';

/**
 * The cluster's network on this machine: a bridge in the root namespace holding the host's address
 * (the test, HAProxy) and Redis's, and one network namespace per replica, joined to the bridge by a
 * veth pair, each with an address of its own. Everything is named with PREFIX, so whatever a crashed
 * run left behind can be found and removed; nothing outside SUBNET is ever addressed.
 */
export const PREFIX = 'saclu';
/** An unusual private /24; `assertSubnetUnused` refuses to run when this machine already uses it. */
export const SUBNET = '10.213.57';
export const HOST_ADDRESS = `${SUBNET}.1`;
/** Redis gets an address of its own on the bridge, so a replica can be cut from Redis alone. */
export const REDIS_ADDRESS = `${SUBNET}.2`;

const BRIDGE = `${PREFIX}-br`;

export interface ReplicaNetwork {
  /** The `ip netns` name; `ip netns exec <namespace> …` runs a command inside. */
  readonly namespace: string;
  readonly address: string;
}

function ip(...args: string[]): string {
  try {
    return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error('ip was not found on PATH: install iproute2 (Debian/Ubuntu: `apt-get install -y iproute2`).', {
        cause: error,
      });
    }
    throw error;
  }
}

function ipv4ToNumber(address: string): number {
  return address.split('.').reduce((value, octet) => value * 256 + Number(octet), 0);
}

function overlaps(cidr: string, base: number, bits: number): boolean {
  const [address, prefix = '32'] = cidr.split('/');
  const otherBits = Number(prefix);
  const shared = Math.min(bits, otherBits);
  const mask = shared === 0 ? 0 : (0xffffffff << (32 - shared)) >>> 0;
  return (ipv4ToNumber(address) & mask) >>> 0 === (base & mask) >>> 0;
}

/**
 * Fails unless no address and no route (the default route aside) of the root namespace touches
 * SUBNET.0/24, so the test never shadows or joins a network the machine really uses.
 */
export function assertSubnetUnused(): void {
  const base = ipv4ToNumber(`${SUBNET}.0`);
  const addresses = (
    JSON.parse(ip('-j', '-4', 'addr')) as { ifname: string; addr_info: { local: string; prefixlen: number }[] }[]
  ).flatMap((link) => link.addr_info.map((info) => ({ where: link.ifname, cidr: `${info.local}/${info.prefixlen}` })));
  const routes = (JSON.parse(ip('-j', '-4', 'route', 'show', 'table', 'all')) as { dst: string; dev?: string }[])
    .filter((route) => route.dst !== 'default' && /^\d/.test(route.dst))
    .map((route) => ({ where: route.dev ?? 'route', cidr: route.dst }));
  const clashes = [
    ...new Set(
      [...addresses, ...routes].filter(({ cidr }) => overlaps(cidr, base, 24)).map((c) => `${c.cidr} on ${c.where}`),
    ),
  ];
  if (clashes.length > 0) {
    throw new Error(
      `${SUBNET}.0/24 is already in use on this machine (${clashes.join(', ')}); ` +
        'the cluster test will not touch it. Pick another SUBNET in test/cluster/network.ts.',
    );
  }
}

/**
 * Removes every namespace and link named with PREFIX, and kills the processes still running in
 * those namespaces: what an earlier, crashed run of this test left behind.
 */
export function removeLeftovers(): void {
  for (const line of ip('netns', 'list').split('\n')) {
    const namespace = line.split(' ')[0];
    if (!namespace?.startsWith(`${PREFIX}-`)) continue;
    for (const pid of ip('netns', 'pids', namespace).split('\n').filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    ip('netns', 'delete', namespace);
  }
  const links = JSON.parse(ip('-j', 'link')) as { ifname: string }[];
  for (const { ifname } of links) {
    if (!ifname.startsWith(`${PREFIX}-`)) continue;
    try {
      execFileSync('ip', ['link', 'delete', ifname], { stdio: 'ignore' });
    } catch {
      // A veth end goes with its peer's namespace, maybe just now.
    }
  }
}

/** The bridge with the host's and Redis's addresses, and `replicas` namespaces on it (addresses .11, .12, …). */
export function createNetwork(replicas: number): ReplicaNetwork[] {
  assertSubnetUnused();
  ip('link', 'add', BRIDGE, 'type', 'bridge');
  ip('addr', 'add', `${HOST_ADDRESS}/24`, 'dev', BRIDGE);
  ip('addr', 'add', `${REDIS_ADDRESS}/24`, 'dev', BRIDGE);
  ip('link', 'set', BRIDGE, 'up');
  return Array.from({ length: replicas }, (_, index) => {
    const n = index + 1;
    const namespace = `${PREFIX}-r${n}`;
    const address = `${SUBNET}.${10 + n}`;
    const hostEnd = `${PREFIX}-h${n}`;
    const replicaEnd = `${PREFIX}-n${n}`;
    ip('netns', 'add', namespace);
    ip('link', 'add', hostEnd, 'type', 'veth', 'peer', 'name', replicaEnd);
    ip('link', 'set', hostEnd, 'master', BRIDGE);
    ip('link', 'set', hostEnd, 'up');
    ip('link', 'set', replicaEnd, 'netns', namespace);
    ip('-n', namespace, 'addr', 'add', `${address}/24`, 'dev', replicaEnd);
    ip('-n', namespace, 'link', 'set', replicaEnd, 'up');
    ip('-n', namespace, 'link', 'set', 'lo', 'up');
    return { namespace, address };
  });
}

/** Cuts the replica off from Redis alone: its packets to Redis's address are dropped, silently. */
export function partitionFromRedis(replica: ReplicaNetwork): void {
  ip('-n', replica.namespace, 'route', 'add', 'blackhole', `${REDIS_ADDRESS}/32`);
}

export function healPartition(replica: ReplicaNetwork): void {
  ip('-n', replica.namespace, 'route', 'delete', 'blackhole', `${REDIS_ADDRESS}/32`);
}
