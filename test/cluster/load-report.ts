import { join } from 'node:path';
import { spawnReaped } from '../support/reaped-child.js';

/** What test/cluster/steady-load.ts counted: every answer by status, every request that got none. */
export interface LoadReport {
  sent: number;
  /** Answers by HTTP status. */
  statuses: Record<string, number>;
  /** Requests without an answer, by cause: `timeout`, `ECONNRESET`, … */
  errors: Record<string, number>;
  /** Answers by `X-Cache` (`none` when absent). */
  cache: Record<string, number>;
  /** 2xx answers whose body did not hold one well-formed prediction. */
  badBodies: number;
  /** The failed requests (non-2xx, malformed 2xx, no answer), with the time each was sent (epoch ms). */
  failures: { sentAt: number; what: string }[];
  elapsedSeconds: number;
  latencyMs: { p50: number; p99: number; max: number };
}

/** Non-2xx answers, malformed 2xx answers and requests without an answer. */
export function failedRequests(report: LoadReport): number {
  const non2xx = Object.entries(report.statuses)
    .filter(([status]) => !status.startsWith('2'))
    .reduce((total, [, count]) => total + count, 0);
  const unanswered = Object.values(report.errors).reduce((total, count) => total + count, 0);
  return non2xx + report.badBodies + unanswered;
}

export interface SteadyLoad {
  /** Stops sending (SIGTERM), waits for the answers in flight and returns the report. */
  stop(): Promise<LoadReport>;
}

const SCRIPT = join(process.cwd(), 'test', 'cluster', 'steady-load.ts');

/** Starts test/cluster/steady-load.ts in a process of its own, against `url`; resolves once it sends. */
export async function startSteadyLoad(
  url: string,
  { rate, maxSeconds }: { rate: number; maxSeconds: number },
): Promise<SteadyLoad> {
  const { child, exited } = spawnReaped(process.execPath, [
    '--import',
    'tsx',
    SCRIPT,
    '--url',
    url,
    '--rate',
    String(rate),
    '--max-seconds',
    String(maxSeconds),
    '--max-requests',
    String(Math.ceil(rate * maxSeconds)),
  ]);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const finished = exited.then(({ code }) => {
    if (code === 0) return JSON.parse(stdout.split('\n')[1]) as LoadReport;
    throw new Error(`steady-load exited with ${code}: ${stderr}`);
  });
  await Promise.race([
    new Promise<void>((resolve) => {
      const sending = () => {
        if (!stdout.startsWith('started\n')) return;
        child.stdout?.off('data', sending);
        resolve();
      };
      child.stdout?.on('data', sending);
    }),
    finished.then(() => {
      throw new Error('steady-load ended before it started sending');
    }),
  ]);
  return {
    stop: () => {
      child.kill('SIGTERM');
      return finished;
    },
  };
}
