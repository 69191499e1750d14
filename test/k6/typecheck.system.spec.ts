import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const TSC = join(process.cwd(), 'node_modules', 'typescript', 'bin', 'tsc');

async function typecheck(project: string): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [TSC, '-p', project]);
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const { code, stdout, stderr } = error as { code: number; stdout: string; stderr: string };
    return { code, output: stdout + stderr };
  }
}

// The k6 binary cannot be installed here, so the scenarios are held to the k6 JavaScript API
// through its type definitions (@types/k6); `npm run k6:typecheck` runs the same two checks.
describe('load-testing code type-checks', () => {
  it('k6 scenarios against @types/k6', async () => {
    expect(await typecheck('k6/tsconfig.json')).toEqual({ code: 0, output: '' });
  });

  it('benchmark harness and load-smoke runner', async () => {
    expect(await typecheck('bench/tsconfig.json')).toEqual({ code: 0, output: '' });
  });
});
