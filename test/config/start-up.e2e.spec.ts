import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { HEAP_FLAGS, MALLOC_ENV } from '../../src/bootstrap/heap-flags.js';
import { startServerProcess } from '../support/server-process.js';

/** The command line the process runs now: after an `execve`, not the one it was spawned with. */
const commandLine = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);

/** The environment the process runs with now, after an `execve`. */
const environment = (pid: number): Record<string, string> =>
  Object.fromEntries(
    readFileSync(`/proc/${pid}/environ`, 'utf8')
      .split('\0')
      .filter(Boolean)
      .map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]),
  );

describe('start-up with a bad setting', () => {
  it('exits 1 with one line naming the variable', () => {
    expect(existsSync('dist/main.js')).toBe(true);
    const run = spawnSync(process.execPath, ['dist/main.js'], {
      env: { ...process.env, PORT: 'abc', NODE_OPTIONS: '' },
      encoding: 'utf8',
      timeout: 20000,
    });
    expect(run.status).toBe(1);
    expect(run.stderr.trim().split('\n')).toEqual([
      'Invalid configuration: PORT must be an integer from 1 to 65535 (got "abc")',
    ]);
  });

  it.each([
    ['no API keys', {}, 'API_KEYS'],
    [
      'Redis without a cache key secret',
      { API_KEYS: 'api-key-fedcba9876543210', REDIS_URL: 'redis://127.0.0.1:1' },
      'CACHE_KEY_SECRET',
    ],
  ])('exits 1 in production with %s, naming the variable', (_case, env, variable) => {
    const run = spawnSync(process.execPath, ['dist/main.js'], {
      env: { PATH: process.env.PATH, NODE_OPTIONS: '', NODE_ENV: 'production', HOST: '127.0.0.1', PORT: '1', ...env },
      encoding: 'utf8',
      timeout: 20000,
    });
    expect(run.status).toBe(1);
    const lines = run.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^Invalid configuration: ${variable} must be set `));
    expect(run.stdout).toBe('');
  });

  it('logs a warning at start when production is opened with ALLOW_ANONYMOUS=true', async () => {
    const server = await startServerProcess('allow-anonymous', { NODE_ENV: 'production', ALLOW_ANONYMOUS: 'true' });
    try {
      const lines = readFileSync(server.logFile, 'utf8')
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { level: number; context?: string; msg?: string });
      expect(lines).toContainEqual(
        expect.objectContaining({
          level: 40,
          context: 'Settings',
          msg: expect.stringContaining('ALLOW_ANONYMOUS=true'),
        }),
      );
    } finally {
      await server.stop();
    }
  });
});

describe('start-up: V8 heap flags and the malloc threshold (issue #26)', () => {
  it('runs `node dist/main.js` with a small young generation and a fixed mmap threshold, in the process that was spawned', async () => {
    const server = await startServerProcess('heap-flags');
    try {
      const args = commandLine(server.child.pid!);
      expect(args.slice(1, 1 + HEAP_FLAGS.length)).toEqual([...HEAP_FLAGS]);
      expect(args.at(-1)).toMatch(/dist\/main\.js$/);
      expect(environment(server.child.pid!)).toMatchObject(MALLOC_ENV);
    } finally {
      await server.stop();
    }
  });

  it('keeps the young generation NODE_OPTIONS asks for, adding only the malloc threshold', async () => {
    const server = await startServerProcess('heap-flags-given', { NODE_OPTIONS: '--max-semi-space-size=8' });
    try {
      expect(commandLine(server.child.pid!).slice(1)).toEqual([expect.stringMatching(/dist\/main\.js$/)]);
      expect(environment(server.child.pid!)).toMatchObject({ ...MALLOC_ENV, NODE_OPTIONS: '--max-semi-space-size=8' });
    } finally {
      await server.stop();
    }
  });

  it.each([
    ['MALLOC_MMAP_THRESHOLD_', { MALLOC_MMAP_THRESHOLD_: '262144' }],
    ['GLIBC_TUNABLES', { GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=262144' }],
  ])('keeps the mmap threshold %s chooses, adding only the heap flags', async (_variable, chosen) => {
    const server = await startServerProcess('malloc-given', chosen);
    try {
      expect(commandLine(server.child.pid!).slice(1, 1 + HEAP_FLAGS.length)).toEqual([...HEAP_FLAGS]);
      const env = environment(server.child.pid!);
      expect(env).toMatchObject(chosen);
      if (!('MALLOC_MMAP_THRESHOLD_' in chosen)) expect(env).not.toHaveProperty('MALLOC_MMAP_THRESHOLD_');
    } finally {
      await server.stop();
    }
  });
});
