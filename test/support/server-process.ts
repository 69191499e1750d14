import type { ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { baselineModelId } from '../../src/baseline-model/write-baseline-model.js';
import { TEST_MODELS_DIR, TEST_OUTPUT_DIR } from './paths.js';
import { spawnReaped, type ChildExit } from './reaped-child.js';
import { freePort } from './redis-server.js';

const MAIN = join(process.cwd(), 'dist', 'main.js');
const READY_TIMEOUT_MS = 30_000;

export type ServerExit = ChildExit;

export interface ServerProcess {
  readonly baseUrl: string;
  readonly child: ChildProcess;
  /** Where the server's JSON log lines (stdout and stderr) go. */
  readonly logFile: string;
  readonly exited: Promise<ServerExit>;
  /** Kills it (SIGKILL) unless it has already exited, and waits for the exit. */
  stop(): Promise<void>;
}

export interface StartOptions {
  /**
   * `ready` (default): resolve once `/health/ready` answers 200. `live`: once `/health/live` does,
   * for a server that is not meant to turn ready (a model it must refuse).
   */
  until?: 'ready' | 'live';
  /** Where the server runs instead of a free loopback port. */
  at?: NamespacedAddress;
}

/** Where the server runs instead of loopback: inside a network namespace, on its own address. */
export interface NamespacedAddress {
  /** An `ip netns` name (the server is started with `ip netns exec`, which keeps its process id). */
  namespace: string;
  address: string;
  port: number;
}

/**
 * The built server (`node dist/main.js`, as in production) on a free loopback port (or at `at`),
 * serving the tiny baseline offline; resolves once `/health/ready` answers 200. `npm test` builds
 * dist/ first.
 */
export async function startServerProcess(
  name: string,
  env: Record<string, string> = {},
  { until = 'ready', at }: StartOptions = {},
): Promise<ServerProcess> {
  if (!existsSync(MAIN)) {
    throw new Error(`${MAIN} is missing: build it with \`npx tsc -p tsconfig.build.json\` (npm test builds it).`);
  }
  const host = at?.address ?? '127.0.0.1';
  const port = at?.port ?? (await freePort());
  const logDir = join(TEST_OUTPUT_DIR, 'logs');
  mkdirSync(logDir, { recursive: true });
  const logFile = join(logDir, `${name}-${port}.log`);
  const log = createWriteStream(logFile);
  const [command, args] = at
    ? ['ip', ['netns', 'exec', at.namespace, process.execPath, MAIN]]
    : [process.execPath, [MAIN]];
  const { child, exited } = spawnReaped(command, args, {
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'test',
      HOST: host,
      PORT: String(port),
      LOG_LEVEL: 'info',
      MODEL_DIR: TEST_MODELS_DIR,
      MODEL_ID: baselineModelId('tiny'),
      ALLOW_REMOTE_MODELS: 'false',
      ...env,
    },
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const server: ServerProcess = {
    baseUrl: `http://${host}:${port}`,
    child,
    logFile,
    exited,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
      log.end();
    },
  };
  try {
    await waitUntilHealthy(server, until);
  } catch (error) {
    await server.stop();
    throw new Error(`${(error as Error).message}\nServer log (${logFile}):\n${readFileSync(logFile, 'utf8')}`, {
      cause: error,
    });
  }
  return server;
}

async function waitUntilHealthy(server: ServerProcess, probe: 'ready' | 'live'): Promise<void> {
  const deadline = performance.now() + READY_TIMEOUT_MS;
  let gone = false;
  void server.exited.then(() => (gone = true));
  while (performance.now() < deadline) {
    if (gone) throw new Error(`the server exited before it was ${probe}`);
    try {
      const response = await fetch(`${server.baseUrl}/health/${probe}`);
      await response.arrayBuffer();
      if (response.status === 200) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`the server was not ${probe} within ${READY_TIMEOUT_MS} ms`);
}
