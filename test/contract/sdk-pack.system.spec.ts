import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const SDK = join(process.cwd(), 'sdk');
const INSTALLED = join(process.cwd(), 'node_modules');
/** What the package's own folder holds in the repository, build output and workspace links aside. */
const SOURCES = ['package.json', 'tsconfig.json', 'tsconfig.cli.json', 'README.md', 'src', 'cli'];

interface Manifest {
  name: string;
  version: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  bin?: string | Record<string, string>;
}

/** The environment without npm's variables of the `npm test` running this, which would point npm at the workspace. */
const OWN_ENV = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('npm_')));

const manifestOf = (folder: string) => JSON.parse(readFileSync(join(folder, 'package.json'), 'utf8')) as Manifest;

/**
 * A node_modules holding only the packages `names` and what they depend on, linked from the
 * repository's install (the versions npm installed for the workspace), with their commands in
 * .bin: what `npm install` in the package's folder would give it, without a registry.
 */
function linkDependencies(target: string, names: string[]): void {
  const pending = [...names];
  while (pending.length > 0) {
    const name = pending.pop()!;
    const link = join(target, name);
    if (existsSync(link)) continue;
    const installed = join(INSTALLED, name);
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(installed, link);
    const manifest = manifestOf(installed);
    pending.push(...Object.keys(manifest.dependencies ?? {}));
    const bins = typeof manifest.bin === 'string' ? { [name]: manifest.bin } : (manifest.bin ?? {});
    for (const [command, file] of Object.entries(bins)) {
      mkdirSync(join(target, '.bin'), { recursive: true });
      symlinkSync(join(installed, file), join(target, '.bin', command));
    }
  }
}

/**
 * `npm pack` of the SDK outside the workspace: its folder copied alone, out of the repository (npm
 * scripts also find the commands of every node_modules above them), with only the dev dependencies
 * its package.json declares. `prepack` builds it with them; the tarball is what a partner installs.
 */
describe('the SDK package packed on its own', () => {
  const WORK = mkdtempSync(join(tmpdir(), 'sentiment-sdk-pack-'));
  const unpacked = join(WORK, 'app', 'node_modules', '@sentiment-api', 'client');
  let files: string[];

  afterAll(() => rmSync(WORK, { recursive: true, force: true }));

  beforeAll(async () => {
    const copy = join(WORK, 'client');
    for (const source of SOURCES) cpSync(join(SDK, source), join(copy, source), { recursive: true });
    linkDependencies(join(copy, 'node_modules'), Object.keys(manifestOf(copy).devDependencies ?? {}));
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', WORK], {
      cwd: copy,
      env: OWN_ENV,
      maxBuffer: 16 * 1024 * 1024,
    });
    const [packed] = JSON.parse(stdout.slice(stdout.indexOf('['))) as { filename: string; files: { path: string }[] }[];
    files = packed.files.map(({ path }) => path);
    // Installed as npm installs a tarball: its `package/` folder becomes the package's.
    mkdirSync(unpacked, { recursive: true });
    await run('tar', ['-xzf', join(WORK, packed.filename), '-C', unpacked, '--strip-components=1']);
  }, 120_000);

  it('builds its library and CLI from the dev dependencies it declares', () => {
    expect(files).toEqual(
      expect.arrayContaining(['dist/index.js', 'dist/index.d.ts', 'dist/cli/sentiment-score.js', 'README.md']),
    );
    expect(files.filter((file) => file.startsWith('node_modules/'))).toEqual([]);
  });

  it('is importable as @sentiment-api/client, every documented function included', async () => {
    const { stdout } = await run(
      process.execPath,
      ['--input-type=module', '-e', "console.log(JSON.stringify(Object.keys(await import('@sentiment-api/client'))))"],
      { cwd: join(WORK, 'app') },
    );
    const exported = JSON.parse(stdout) as string[];
    for (const name of [...readFileSync(join(unpacked, 'README.md'), 'utf8').matchAll(/^\| `(\w+)` /gm)].map(
      ([, fn]) => fn,
    )) {
      expect(exported).toContain(name);
    }
  });

  it('runs its command', async () => {
    const { stdout, stderr } = await run(process.execPath, [
      join(unpacked, 'dist', 'cli', 'sentiment-score.js'),
      '--help',
    ]);
    expect(stdout + stderr).toContain('usage: sentiment-score ');
  });
});
