import { readdirSync, readFileSync } from 'node:fs';

const README = readFileSync('README.md', 'utf8');

/** The rows of the README's table of the folders of `src/`. */
function folderMapRows(): string[] {
  const start = README.indexOf('The folders of `src/`');
  const table = README.slice(start).split('\n\n')[1] ?? '';
  return table.split('\n').filter((line) => line.startsWith('| `'));
}

describe('the README', () => {
  it('maps every folder of src/, one row each, and no folder that is gone', () => {
    const mapped = folderMapRows().flatMap((row) =>
      [...row.split('|')[1].matchAll(/`([\w.-]+)\/`/g)].map(([, folder]) => folder),
    );
    const folders = readdirSync('src', { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name);
    expect([...mapped].sort()).toEqual([...folders].sort());
    expect(new Set(mapped).size).toBe(mapped.length);
  });

  it('states the test command CI runs', () => {
    const ci = readFileSync('.ci/run', 'utf8');
    const command = ci.trim().split('\n').at(-1);
    expect(command).toBe('npm test');
    expect(README).toMatch(/^npm test\b/m);
  });
});
