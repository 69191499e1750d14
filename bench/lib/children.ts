import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Runs one of the harness's TypeScript child scripts (through tsx) with `input` as JSON in
 * argv[2] and resolves with the JSON it prints last. Its stderr passes through.
 */
export function runChild<T>(script: URL, input: unknown): Promise<T> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(script), JSON.stringify(input)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  // A harness stopped with Ctrl-C must not leave a load generator running.
  const reap = () => child.kill('SIGKILL');
  process.once('exit', reap);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      process.off('exit', reap);
      if (code !== 0) {
        reject(new Error(`${fileURLToPath(script)} failed (${signal ?? `exit code ${code}`})`));
        return;
      }
      const last = output.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(last) as T);
      } catch {
        reject(new Error(`${fileURLToPath(script)} printed no JSON result: ${last.slice(0, 200)}`));
      }
    });
  });
}
