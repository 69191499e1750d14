import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** performance.now() when the exit was seen. */
  at: number;
}

/**
 * Starts a process a test needs (a server, a balancer, a load generator) that never outlives the
 * test run: it is killed when this process exits, a crashed run included. Output is piped unless
 * `options` say otherwise; `exited` settles when it exits.
 */
export function spawnReaped(
  command: string,
  args: readonly string[],
  options: SpawnOptions = {},
): { child: ChildProcess; exited: Promise<ChildExit> } {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  const reap = () => child.kill('SIGKILL');
  process.once('exit', reap);
  const exited = new Promise<ChildExit>((resolve) =>
    child.once('exit', (code, signal) => {
      process.off('exit', reap);
      resolve({ code, signal, at: performance.now() });
    }),
  );
  return { child, exited };
}
