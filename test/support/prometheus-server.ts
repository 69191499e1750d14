import { execFile } from 'node:child_process';
import { accessSync, constants, createWriteStream, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { TEST_OUTPUT_DIR } from './paths.js';
import { spawnReaped } from './reaped-child.js';
import { freePort } from './redis-server.js';

const HOW_TO_GET_PROMETHEUS =
  'Install it (Debian/Ubuntu: `apt-get install -y prometheus`, which also ships promtool; .ci/run does this) ' +
  'or put the `prometheus` and `promtool` binaries from prometheus.io on PATH.';
const READY_TIMEOUT_MS = 20_000;

/** The path of a Prometheus tool (`prometheus`, `promtool`) on PATH; throws saying how to install it. */
export function prometheusTool(name: 'prometheus' | 'promtool'): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not in this directory.
    }
  }
  throw new Error(`${name} was not found on PATH. ${HOW_TO_GET_PROMETHEUS}`);
}

/** Runs promtool; resolves with its output, rejects with it when promtool reports a problem. */
export async function promtool(...args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await promisify(execFile)(prometheusTool('promtool'), args);
    return stdout + stderr;
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`promtool ${args.join(' ')} failed:\n${stdout}${stderr}`, { cause: error });
  }
}

export interface PrometheusServer {
  readonly url: string;
  /** GET /api/v1/<path> and the `data` of a successful answer; throws with Prometheus' error otherwise. */
  api<T>(path: string, params?: Record<string, string>): Promise<T>;
  stop(): Promise<void>;
}

export interface PrometheusOptions {
  /** Feature flags to enable (`--enable-feature`), e.g. `exemplar-storage`. */
  features?: string[];
}

/** A real Prometheus on a free loopback port with `configFile`, its storage and log under test-output/. */
export async function startPrometheus(
  name: string,
  configFile: string,
  { features = [] }: PrometheusOptions = {},
): Promise<PrometheusServer> {
  const binary = prometheusTool('prometheus');
  const port = await freePort();
  const dir = join(TEST_OUTPUT_DIR, 'prometheus', `${name}-${port}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const logFile = join(dir, 'prometheus.log');
  const log = createWriteStream(logFile);
  const { child, exited } = spawnReaped(binary, [
    `--config.file=${configFile}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--log.level=warn',
    ...features.map((feature) => `--enable-feature=${feature}`),
  ]);
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const url = `http://127.0.0.1:${port}`;
  const server: PrometheusServer = {
    url,
    api: async <T>(path: string, params: Record<string, string> = {}): Promise<T> => {
      const response = await fetch(`${url}/api/v1/${path}?${new URLSearchParams(params).toString()}`);
      const body = (await response.json()) as { status: string; data: T; error?: string; errorType?: string };
      if (body.status !== 'success') throw new Error(`Prometheus ${path} ${JSON.stringify(params)}: ${body.error}`);
      return body.data;
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      log.end();
    },
  };
  const deadline = performance.now() + READY_TIMEOUT_MS;
  while (performance.now() < deadline) {
    if (child.exitCode !== null) break;
    try {
      if ((await fetch(`${url}/-/ready`)).status === 200) return server;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await server.stop();
  throw new Error(`Prometheus did not become ready.\n${readFileSync(logFile, 'utf8')}`);
}
