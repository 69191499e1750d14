import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { TEST_MODELS_DIR, TEST_OUTPUT_DIR } from '../support/paths.js';
import { freePort } from '../support/redis-server.js';

export interface UnreadyServer {
  baseUrl: string;
  stop(): Promise<void>;
}

/**
 * The built server (`node dist/main.js`) configured for a model it cannot have and no fallback:
 * it listens and is alive but never becomes ready, so every model call answers 503.
 */
export async function startUnreadyServer(): Promise<UnreadyServer> {
  const port = await freePort();
  mkdirSync(join(TEST_OUTPUT_DIR, 'logs'), { recursive: true });
  const log = createWriteStream(join(TEST_OUTPUT_DIR, 'logs', `partner-app-unready-${port}.log`));
  const child = spawn(process.execPath, [join(process.cwd(), 'dist', 'main.js')], {
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: String(port),
      MODEL_DIR: TEST_MODELS_DIR,
      MODEL_ID: 'sentiment-api/no-such-model',
      MODEL_FALLBACK: 'none',
      ALLOW_REMOTE_MODELS: 'false',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    log.end();
  };
  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = performance.now() + 30_000;
  while (performance.now() < deadline && child.exitCode === null) {
    const live = await fetch(`${baseUrl}/health/live`).then(
      (response) => response.status === 200,
      () => false,
    );
    if (live) return { baseUrl, stop };
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await stop();
  throw new Error('the unready server did not come alive within 30 s');
}
