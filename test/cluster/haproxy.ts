import { execFileSync } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TEST_OUTPUT_DIR } from '../support/paths.js';
import { spawnReaped } from '../support/reaped-child.js';
import { freePort } from '../support/redis-server.js';

const HAPROXY = 'haproxy';

/**
 * How HAProxy follows the replicas' readiness, as a Kubernetes Service follows its pods' readiness
 * probes: `GET /health/ready` every INTERVAL_MS; FALL failures in a row take a replica out, RISE
 * successes put it back.
 */
export const HEALTH_CHECK = { intervalMs: 500, timeoutMs: 400, fall: 2, rise: 2 } as const;

/** The longest a dead replica can stay in rotation: FALL checks, each up to its timeout, one interval apart, plus the one in progress. */
export const DETECTION_BOUND_MS = (HEALTH_CHECK.fall + 1) * HEALTH_CHECK.intervalMs + HEALTH_CHECK.timeoutMs;

export interface BackendServer {
  name: string;
  address: string;
  port: number;
}

/** One server's line of HAProxy's CSV statistics. */
export interface ServerStats {
  /** UP, DOWN, `UP 1/2` (going down), `DOWN 1/2` (coming up), MAINT, … */
  status: string;
  /** Requests HAProxy sent to it since the start (`stot`). */
  sessions: number;
  /** Failed health checks since the start. */
  failedChecks: number;
}

export interface LoadBalancer {
  readonly baseUrl: string;
  readonly configFile: string;
  /** The configuration, to report what the balancer was told to do. */
  readonly config: string;
  stats(): Promise<Map<string, ServerStats>>;
  /** Resolves when HAProxy has the server in the state `status` (`UP`, `DOWN`); returns the ms it took. */
  untilServer(name: string, status: 'UP' | 'DOWN', timeoutMs: number): Promise<number>;
  stop(): Promise<void>;
}

/**
 * The configuration: HAProxy's defaults (keep-alive to the replicas, round robin) but for the health
 * checks, `retries 0` and no `option redispatch`: a request HAProxy sends to a dead replica fails,
 * as a connection through a Kubernetes Service (kube-proxy) would, so what the tests count is what
 * clients would see, not what a retrying balancer would hide.
 */
function configuration(frontendPort: number, statsPort: number, servers: readonly BackendServer[]): string {
  const { intervalMs, timeoutMs, fall, rise } = HEALTH_CHECK;
  return `global
  nbthread 1
  maxconn 2000
  log stdout format raw local0 info

defaults
  mode http
  log global
  option httplog
  retries 0
  timeout connect 1s
  timeout client 30s
  timeout server 30s
  timeout http-keep-alive 30s
  timeout check ${timeoutMs}ms

frontend api
  bind 127.0.0.1:${frontendPort}
  default_backend replicas

backend replicas
  balance roundrobin
  option httpchk
  http-check send meth GET uri /health/ready
  http-check expect status 200
  default-server check inter ${intervalMs}ms fall ${fall} rise ${rise}
${servers.map((server) => `  server ${server.name} ${server.address}:${server.port}`).join('\n')}

frontend stats
  bind 127.0.0.1:${statsPort}
  stats enable
  stats uri /stats
`;
}

/**
 * HAProxy (Debian's) in front of `servers`, listening on a free loopback port, once its health
 * checks see every server up; its log (every request, every server going up or down) goes to
 * test-output/logs/cluster-haproxy.log.
 */
export async function startLoadBalancer(servers: readonly BackendServer[]): Promise<LoadBalancer> {
  try {
    execFileSync(HAPROXY, ['-v'], { stdio: 'ignore' });
  } catch {
    throw new Error('haproxy was not found on PATH: install it (Debian/Ubuntu: `apt-get install -y haproxy`).');
  }
  const frontendPort = await freePort();
  const statsPort = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'cluster-haproxy-'));
  const configFile = join(dir, 'haproxy.cfg');
  const config = configuration(frontendPort, statsPort, servers);
  writeFileSync(configFile, config);
  const logDir = join(TEST_OUTPUT_DIR, 'logs');
  mkdirSync(logDir, { recursive: true });
  const log = createWriteStream(join(logDir, 'cluster-haproxy.log'));
  // -db: stay in the foreground, so it is this process's child and dies with it.
  const { child, exited } = spawnReaped(HAPROXY, ['-db', '-f', configFile]);
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);

  const stats = async (): Promise<Map<string, ServerStats>> => {
    const response = await fetch(`http://127.0.0.1:${statsPort}/stats;csv`);
    const [header, ...lines] = (await response.text()).trim().split('\n');
    const columns = header.replace(/^# /, '').split(',');
    const at = (name: string) => columns.indexOf(name);
    const byServer = new Map<string, ServerStats>();
    for (const fields of lines.map((line) => line.split(','))) {
      if (fields[at('pxname')] !== 'replicas' || ['FRONTEND', 'BACKEND'].includes(fields[at('svname')])) continue;
      byServer.set(fields[at('svname')], {
        status: fields[at('status')],
        sessions: Number(fields[at('stot')]),
        failedChecks: Number(fields[at('chkfail')]),
      });
    }
    return byServer;
  };

  const balancer: LoadBalancer = {
    baseUrl: `http://127.0.0.1:${frontendPort}`,
    configFile,
    config,
    stats,
    async untilServer(name, status, timeoutMs) {
      const started = performance.now();
      for (;;) {
        const elapsed = performance.now() - started;
        if ((await stats().catch(() => undefined))?.get(name)?.status === status) return elapsed;
        if (elapsed > timeoutMs) throw new Error(`HAProxy did not see ${name} ${status} within ${timeoutMs} ms`);
        await sleep(25);
      }
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      log.end();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await Promise.all(servers.map((server) => balancer.untilServer(server.name, 'UP', 10_000)));
  } catch (error) {
    await balancer.stop();
    throw error;
  }
  return balancer;
}
