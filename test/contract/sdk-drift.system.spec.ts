import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { TEST_OUTPUT_DIR } from '../support/paths.js';

const COMMITTED = join(process.cwd(), 'sdk', 'src');
const REGENERATED = join(TEST_OUTPUT_DIR, 'sdk-drift', 'src');

function files(root: string): Map<string, string> {
  const entries = readdirSync(root, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile());
  return new Map(
    entries.map((entry) => {
      const file = join(entry.parentPath, entry.name);
      return [relative(root, file), readFileSync(file, 'utf8')];
    }),
  );
}

describe('the committed SDK (sdk/src)', () => {
  it('is exactly what `npm run sdk:generate` makes of openapi.yaml', async () => {
    rmSync(REGENERATED, { recursive: true, force: true });
    await promisify(execFile)(process.execPath, [
      '--import',
      'tsx',
      'scripts/generate-sdk.ts',
      '--output',
      REGENERATED,
    ]);
    const committed = files(COMMITTED);
    const regenerated = files(REGENERATED);
    expect([...committed.keys()].sort()).toEqual([...regenerated.keys()].sort());
    const changed = [...regenerated].filter(([file, text]) => committed.get(file) !== text).map(([file]) => file);
    if (changed.length > 0) {
      throw new Error(`sdk/src is out of date (${changed.join(', ')}): run \`npm run sdk:generate\``);
    }
  }, 120_000);
});
