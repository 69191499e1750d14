import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';

const run = promisify(execFile);
const SDK = join(process.cwd(), 'sdk');
const CONSUMER = join(process.cwd(), 'test', 'partner-app-cjs', 'main.cjs');
const API_KEY = `cjs-partner-${randomBytes(12).toString('hex')}`;

interface PackResult {
  filename: string;
  files: { path: string }[];
}

interface Report {
  model: string;
  labels: string[];
  anonymous: { status: number; type: string };
}

/**
 * The SDK as shipped to a CommonJS partner: `npm pack` of the package sources (no dist/: its
 * `prepack` must build it), installed from the tarball into a bare folder outside the repository
 * (nothing to fall back on), then require()d by a `.cjs` script that calls a live server with a key.
 */
describe('CommonJS partner app on the packed SDK', () => {
  let work: string;
  let builtBeforePack: boolean;
  let packed: PackResult;
  let server: ServerProcess;
  let report: Report;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'partner-app-cjs-'));
    // A copy of the package without its build output, so this test never races the ESM partner
    // app's build of sdk/dist.
    const source = join(work, 'sdk');
    cpSync(SDK, source, { recursive: true, filter: (path) => !/[/\\](dist|node_modules)$/.test(path) });
    builtBeforePack = existsSync(join(source, 'dist'));
    // The SDK has no dependencies; its build needs tsc and, for the CLI, Node's types: both from the
    // workspace's node_modules, one folder up from the package as in the repository.
    symlinkSync(join(process.cwd(), 'node_modules'), join(work, 'node_modules'), 'dir');
    const path = `${join(process.cwd(), 'node_modules', '.bin')}:${process.env.PATH ?? ''}`;
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', work], {
      cwd: source,
      env: { ...process.env, PATH: path },
    });
    [packed] = JSON.parse(stdout) as PackResult[];

    const app = join(work, 'app');
    mkdirSync(app);
    copyFileSync(CONSUMER, join(app, 'main.cjs'));
    // CommonJS by default: the package.json has no "type".
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'partner-app-cjs', private: true }));
    await run('npm', ['install', '--offline', '--no-audit', '--no-fund', join(work, packed.filename)], { cwd: app });

    server = await startServerProcess('partner-app-cjs', { API_KEYS: API_KEY });
    const consumer = await run(process.execPath, [join(app, 'main.cjs'), server.baseUrl], {
      cwd: app,
      env: { PATH: process.env.PATH ?? '', SENTIMENT_API_KEY: API_KEY },
    });
    report = JSON.parse(consumer.stdout) as Report;
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('packs the built ESM and its types: prepack built dist/ from the sources', () => {
    const paths = packed.files.map(({ path }) => path);
    expect(builtBeforePack).toBe(false);
    expect(paths).toEqual(
      expect.arrayContaining(['package.json', 'dist/index.js', 'dist/index.d.ts', 'dist/sdk.gen.js']),
    );
  });

  it('require()s the package and calls the service with its key', () => {
    expect(report.model).toBe('sentiment-api/distilbert-sst2-afinn-baseline-tiny');
    expect(report.labels).toEqual(['POSITIVE', 'NEGATIVE']);
  });

  it('gets the 401 of a call without the key as a typed Problem', () => {
    expect(report.anonymous).toEqual({ status: 401, type: 'urn:sentiment-api:problem:unauthorized' });
  });
});
