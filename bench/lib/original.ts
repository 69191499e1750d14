// The FastAPI + PyTorch original (../shared/peers/seed-py, issue #12), run beside the service in
// the same benchmark when its Debian packages are installed: started with its own run.sh on free
// ports (a private redis-server of its own), PIDs in a temporary PEER_RUN_DIR, stopped with stop.sh.
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../test/support/redis-server.js';

export const ORIGINAL_PATH = '/project/bulk-predict';
/** The interpreter its README installs packages for (run.sh's default). */
const PYTHON = '/usr/bin/python3';
const MODULES = ['torch', 'fastapi', 'uvicorn', 'redis'];

export interface OriginalServer {
  readonly baseUrl: string;
  /** uvicorn's PID, for its peak RSS. */
  readonly pid: number;
  /** Milliseconds from run.sh to its health check answering. */
  readonly readyMs: number;
  stop(): Promise<void>;
}

/** Why the original cannot run here, or undefined when it can. */
export function originalUnavailable(dir: string): string | undefined {
  if (!existsSync(join(dir, 'run.sh'))) return `no ${join(dir, 'run.sh')} (give its folder with --original-dir)`;
  const imports = spawnSync(PYTHON, ['-c', `import ${MODULES.join(', ')}`], { encoding: 'utf8' });
  if (imports.status !== 0) {
    return (
      `${PYTHON} cannot import ${MODULES.join(', ')} (${(imports.stderr || String(imports.error)).trim().split('\n').pop()}); ` +
      `install the Debian packages in ${join(dir, 'README.md')}`
    );
  }
  for (const tool of ['redis-server', 'redis-cli', 'curl']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} is not on PATH (run.sh needs it)`;
  }
  return undefined;
}

const run = promisify(execFile);

export async function startOriginal(dir: string): Promise<OriginalServer> {
  const runDir = mkdtempSync(join(tmpdir(), 'bench-original-'));
  const env = { ...process.env, PEER_RUN_DIR: runDir, PYTHON };
  const port = await freePort();
  let redisPort = await freePort();
  while (redisPort === port) redisPort = await freePort();
  const started = performance.now();
  const stop = async () => {
    await run('bash', [join(dir, 'stop.sh')], { env });
    rmSync(runDir, { recursive: true, force: true });
  };
  try {
    await run('bash', [join(dir, 'run.sh'), String(port), String(redisPort)], { env, timeout: 120_000 });
  } catch (error) {
    await stop();
    throw new Error(`the original did not start: ${(error as Error).message}`, { cause: error });
  }
  const readyMs = performance.now() - started;
  const pid = Number(readFileSync(join(runDir, 'server.pid'), 'utf8').trim());
  return { baseUrl: `http://127.0.0.1:${port}`, pid, readyMs, stop };
}
