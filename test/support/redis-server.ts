import type { ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { TEST_OUTPUT_DIR } from './paths.js';
import { spawnReaped } from './reaped-child.js';

export interface RedisServer {
  readonly url: string;
  /** False when REDIS_URL pointed the tests at a Redis they do not control. */
  readonly own: boolean;
  /** Shuts the server down (SIGTERM) and waits for it to exit; no-op for an external Redis. */
  stop(): Promise<void>;
  /** Crashes the server (SIGKILL), as an outage would. */
  kill(): Promise<void>;
  /** Freezes (SIGSTOP) or thaws (SIGCONT) it: connections stay open, nothing is answered. */
  pause(): void;
  resume(): void;
  /** Starts it again on the same port (empty: nothing is persisted). */
  restart(): Promise<void>;
}

const HOW_TO_GET_REDIS =
  'Install it (Debian/Ubuntu: `apt-get install -y redis-server`, macOS: `brew install redis`) so ' +
  '`redis-server` is on PATH, or point the tests at a running Redis with REDIS_URL=redis://host:port.';
const READY_LINE = /Ready to accept connections/;
const START_TIMEOUT_MS = 10_000;

/** A TCP port nobody listens on right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** What the tests' Redis is unless told otherwise: nothing written to disk. */
const VOLATILE = ['--save', '', '--appendonly', 'no'];

/**
 * The Redis for a test suite: the one in REDIS_URL when given (tests reading it is the one
 * place outside src/config that looks at the environment), else a fresh `redis-server` of
 * this suite's own. `own: true` always starts one, for tests that kill or freeze it; `host` binds
 * it to another address of this machine than 127.0.0.1 (the cluster test's bridge); `config`
 * replaces the volatile default (no persistence) with these redis-server arguments (a shipped
 * configuration: test/deploy/support/shipped-redis.ts). Each server has a data folder of its own,
 * which a restart keeps: an AOF is replayed.
 */
export async function startRedisServer({
  own = false,
  host = '127.0.0.1',
  config = VOLATILE,
}: { own?: boolean; host?: string; config?: readonly string[] } = {}): Promise<RedisServer> {
  const external = process.env.REDIS_URL?.trim();
  if (external && !own && config === VOLATILE) return externalRedis(external);
  return ownRedis(host, await freePort(), config);
}

function externalRedis(url: string): RedisServer {
  const refusal = () =>
    new Error('this test needs a redis-server of its own; REDIS_URL is only used by tests that do not break Redis');
  const refuse = (): never => {
    throw refusal();
  };
  return {
    url,
    own: false,
    stop: () => Promise.resolve(),
    kill: () => Promise.reject(refusal()),
    pause: refuse,
    resume: refuse,
    restart: () => Promise.reject(refusal()),
  };
}

async function ownRedis(host: string, port: number, config: readonly string[]): Promise<RedisServer> {
  const dir = join(TEST_OUTPUT_DIR, 'redis', String(port));
  rmSync(dir, { recursive: true, force: true });
  let child = await spawnRedis(host, port, config, dir);
  const stopWith = async (signal: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    // A frozen (SIGSTOPped) server would hold SIGTERM until thawed.
    child.kill('SIGCONT');
    child.kill(signal);
    await exited;
  };
  return {
    url: `redis://${host}:${port}`,
    own: true,
    stop: () => stopWith('SIGTERM'),
    kill: () => stopWith('SIGKILL'),
    pause: () => void child.kill('SIGSTOP'),
    resume: () => void child.kill('SIGCONT'),
    restart: async () => {
      await stopWith('SIGKILL');
      child = await spawnRedis(host, port, config, dir);
    },
  };
}

function spawnRedis(host: string, port: number, config: readonly string[], dir: string): Promise<ChildProcess> {
  mkdirSync(dir, { recursive: true });
  const args = [...config, '--port', String(port), '--bind', host, '--dir', dir];
  // Off loopback, Redis without a password would refuse clients unless told it is bound on purpose.
  if (host !== '127.0.0.1') args.push('--protected-mode', 'no');
  const { child } = spawnReaped('redis-server', args);

  return new Promise((resolve, reject) => {
    let output = '';
    let settled = false;
    const fail = (message: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${message}\n${HOW_TO_GET_REDIS}${output ? `\nredis-server said:\n${output}` : ''}`));
    };
    const timer = setTimeout(() => fail(`redis-server did not start within ${START_TIMEOUT_MS} ms.`), START_TIMEOUT_MS);
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
      if (!settled && READY_LINE.test(output)) {
        settled = true;
        clearTimeout(timer);
        child.stdout?.removeAllListeners('data');
        child.stdout?.resume();
        resolve(child);
      }
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', (error: NodeJS.ErrnoException) =>
      fail(
        error.code === 'ENOENT'
          ? 'redis-server was not found on PATH.'
          : `redis-server could not be started: ${error.message}.`,
      ),
    );
    child.once('exit', (code, signal) => fail(`redis-server exited before it was ready (${signal ?? code}).`));
  });
}
