import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freshTexts } from '../cache/cache-test-helpers.js';
import type { ResultLine } from './job-client.js';
import { TEST_OUTPUT_DIR } from '../support/paths.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';

const run = promisify(execFile);
const CLI = join(process.cwd(), 'sdk', 'dist', 'cli', 'sentiment-score.js');
const TEXTS = 3000;

/** The SDK's `sentiment-score` against the built server: on a pseudo-terminal and in a pipe. */
describe('sentiment-score CLI (built server, real redis-server)', () => {
  let redis: RedisServer;
  let server: ServerProcess;
  const dir = join(TEST_OUTPUT_DIR, 'cli');
  const input = join(dir, 'reviews.jsonl');

  beforeAll(async () => {
    redis = await startRedisServer();
    server = await startServerProcess('cli', { REDIS_URL: redis.url, RATE_LIMIT_ENABLED: 'false' });
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      input,
      freshTexts(TEXTS, 'cli')
        .map((text, i) => JSON.stringify({ text, id: `c${i}` }) + '\n')
        .join(''),
    );
  });
  afterAll(async () => {
    await server?.stop();
    await redis?.stop();
  });

  it('in a pipe: plain progress lines on stderr, every result in order on stdout', async () => {
    const { stdout, stderr } = await run(process.execPath, [CLI, '--url', server.baseUrl, '--interval', '100', input], {
      maxBuffer: 64 * 1024 * 1024,
    });
    const results = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { id: string; line: number });
    expect(results.map((r) => r.id)).toEqual(Array.from({ length: TEXTS }, (_, i) => `c${i}`));
    expect(stderr).not.toContain('\r');
    expect(stderr).toMatch(
      new RegExp(`^progress ${TEXTS}/${TEXTS} texts 100% \\d+ texts/s ETA \\S+ \\(completed\\)$`, 'm'),
    );
    // Without API keys the job belongs to the token the CLI made: its resume command carries it.
    const [, token, id] = /resume with: SENTIMENT_JOB_TOKEN=(\S+) sentiment-score --job (\S+)/.exec(stderr) ?? [];
    expect(token).toMatch(/^[\w-]{43}$/);
    const followed = await run(process.execPath, [CLI, '--url', server.baseUrl, '--job', id], {
      env: { ...process.env, SENTIMENT_JOB_TOKEN: token },
      maxBuffer: 64 * 1024 * 1024,
    });
    expect(followed.stdout).toBe(stdout);
    // Another token owns nothing: the job is not found for it.
    await expect(
      run(process.execPath, [CLI, '--url', server.baseUrl, '--job', id], {
        env: { ...process.env, SENTIMENT_JOB_TOKEN: 'not-the-token-of-that-job-0123456789' },
      }),
    ).rejects.toMatchObject({ stderr: expect.stringContaining('status answered 404') });
  });

  it('on a terminal (script): a redrawn progress bar with rate and ETA; rerun resumes the same job', async () => {
    const output = join(dir, 'tty-results.jsonl');
    const command = `${process.execPath} ${CLI} --url ${server.baseUrl} --interval 100 ${input} > ${output}`;
    // A token of the user's own makes a rerun the same caller (without API keys).
    const env = { ...process.env, SENTIMENT_JOB_TOKEN: 'cli-test-job-token-0123456789abcdef' };
    const { stdout: terminal } = await run('script', ['-q', '-e', '-c', command, '/dev/null'], {
      env,
      maxBuffer: 64 * 1024 * 1024,
    });
    expect(terminal).toMatch(/\r\[#{30}\] 3000\/3000 texts 100% \d+ texts\/s ETA \S+ \(completed\)/);
    expect(terminal).toMatch(/\r\[[#.]{30}\] /);
    // The same file is the same job (its hash is the Idempotency-Key): the first run's job id again.
    const ids = [...terminal.matchAll(/job ([0-9a-f-]{36})/g)].map((match) => match[1]);
    const { stderr } = await run(process.execPath, [CLI, '--url', server.baseUrl, input], {
      env,
      maxBuffer: 64 * 1024 * 1024,
    });
    expect(stderr).toContain(`job ${ids[0]} `);
  });

  it('--long-text chunk reads a verdict past token 512 that the default cuts off; the same file is another job', async () => {
    const file = join(dir, 'long-reviews.jsonl');
    const late = `${Array.from({ length: 600 }, () => 'the').join(' ')} ${'terrible '.repeat(60).trim()} cli`;
    writeFileSync(file, `${JSON.stringify({ text: late, id: 'late' })}\n${JSON.stringify({ text: 'cli: fine' })}\n`);
    const env = { ...process.env, SENTIMENT_JOB_TOKEN: 'cli-long-text-job-token-0123456789' };
    const score = async (...flags: string[]) => {
      const { stdout, stderr } = await run(process.execPath, [CLI, '--url', server.baseUrl, ...flags, file], { env });
      const [first] = stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as ResultLine);
      return {
        negative: first.predictions.find((p) => p.label === 'NEGATIVE')!.score,
        job: /job (\S+)/.exec(stderr)![1],
      };
    };
    const truncated = await score();
    const chunked = await score('--long-text', 'chunk');
    expect(Math.abs(truncated.negative - 0.5)).toBeLessThan(1e-6);
    expect(chunked.negative).toBeGreaterThan(0.75);
    expect(chunked.job).not.toBe(truncated.job);
    await expect(run(process.execPath, [CLI, '--long-text', 'split', file])).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--long-text must be truncate or chunk'),
    });
  });
});
