// Real time: it compares one key's job time alone against its time behind another key's backlog, wall
// clock against wall clock, which other suites' load would skew.
import { freshTexts } from '../cache/cache-test-helpers.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { acceptedJob, JobClient, ndjson } from '../jobs/job-client.js';

/** Issue #22 item 6: while key B has 200,000 texts queued, key A's 2,000-text job finishes within 2× its time alone. */
const A_TEXTS = 2_000;
const B_JOBS = 4;
const B_TEXTS_PER_JOB = 50_000;
const B_TEXTS = B_JOBS * B_TEXTS_PER_JOB;
/** The requirement itself, not a loosened bound. */
const ALLOWED_RATIO = 2;
/** A warm-up job first, so "alone" is not inflated by the first model calls and connections. */
const WARM_UP_TEXTS = 256;
/**
 * A's time alone is the median of this many runs: at a few hundred milliseconds on the tiny model,
 * one run is at the mercy of the shared machine's noise either way.
 */
const ALONE_RUNS = 3;
/** Longest wait for A's job behind B's backlog: far past 2× alone, so a failure still reports the real time. */
const A_BEHIND_B_DEADLINE_MS = 240_000;
/** Longest wait for a job on an otherwise idle server. */
const ALONE_DEADLINE_MS = 60_000;
/** Longest wait for B's first job to start (and answer some texts). */
const B_START_DEADLINE_MS = 60_000;
/** Status polls this often, so the measured times are not rounded up to a coarse poll. */
const POLL_MS = 25;

const KEY_A = 'fairness-tenant-a-key-0001';
const KEY_B = 'fairness-tenant-b-key-0002';

interface Status {
  state: string;
  textsDone: number;
  textsTotal: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function statusOf(client: JobClient, id: string): Promise<Status> {
  const response = await client.status(id);
  if (response.status !== 200)
    throw new Error(`status of job ${id} answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as Status;
}

async function submit(client: JobClient, texts: string[]): Promise<string> {
  return (await acceptedJob(await client.submit(ndjson(texts)))).id;
}

/**
 * Submits `texts` as one job and polls it until `completed`; returns the wall time from just before
 * the submission to the poll that saw it completed, or undefined when the deadline passed first.
 */
async function timeJob(client: JobClient, texts: string[], deadlineMs: number): Promise<number | undefined> {
  const started = performance.now();
  const id = await submit(client, texts);
  for (;;) {
    const { state } = await statusOf(client, id);
    const elapsed = performance.now() - started;
    if (state === 'completed') return elapsed;
    if (state !== 'queued' && state !== 'running') throw new Error(`job ${id} ended ${state}`);
    if (elapsed > deadlineMs) return undefined;
    await sleep(POLL_MS);
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

async function textsDone(client: JobClient, ids: string[]): Promise<number> {
  const statuses = await Promise.all(ids.map((id) => statusOf(client, id)));
  return statuses.reduce((sum, status) => sum + status.textsDone, 0);
}

describe('bulk jobs are fair between API keys (built server, real redis-server)', () => {
  let redis: RedisServer;
  let server: ServerProcess;

  beforeAll(async () => {
    redis = await startRedisServer();
    server = await startServerProcess('jobs-fairness', {
      REDIS_URL: redis.url,
      RATE_LIMIT_ENABLED: 'false',
      API_KEYS: `${KEY_A},${KEY_B}`,
      // A generous quota: B holds 200,000 texts and their results at once.
      JOB_STORED_BYTES_PER_KEY: String(1024 ** 3),
    });
  });
  afterAll(async () => {
    await server?.stop();
    await redis?.stop();
  });

  it(`finishes key A's ${A_TEXTS}-text job within ${ALLOWED_RATIO}× its time alone while key B has ${B_TEXTS} texts queued`, async () => {
    const a = new JobClient(server.baseUrl, KEY_A);
    const b = new JobClient(server.baseUrl, KEY_B);

    const warmedUp = await timeJob(a, freshTexts(WARM_UP_TEXTS, 'fairness warm-up'), ALONE_DEADLINE_MS);
    expect(warmedUp).toBeDefined();
    const aloneRuns: number[] = [];
    for (let i = 0; i < ALONE_RUNS; i++) {
      const run = await timeJob(a, freshTexts(A_TEXTS, `fairness alone ${i}`), ALONE_DEADLINE_MS);
      if (run === undefined) throw new Error(`A's job alone did not complete within ${ALONE_DEADLINE_MS} ms`);
      aloneRuns.push(run);
    }
    const alone = median(aloneRuns);

    // A hostile tenant splits its work: several jobs, submitted one after another.
    const bJobs: string[] = [];
    try {
      for (let i = 0; i < B_JOBS; i++)
        bJobs.push(await submit(b, freshTexts(B_TEXTS_PER_JOB, `fairness backlog ${i}`)));
      const startDeadline = performance.now() + B_START_DEADLINE_MS;
      for (;;) {
        const first = await statusOf(b, bJobs[0]);
        if (first.state === 'running' && first.textsDone > 0) break;
        if (performance.now() > startDeadline) {
          throw new Error(
            `B's first job was still ${first.state} (${first.textsDone} done) after ${B_START_DEADLINE_MS} ms`,
          );
        }
        await sleep(POLL_MS);
      }

      const behindB = await timeJob(a, freshTexts(A_TEXTS, 'fairness behind backlog'), A_BEHIND_B_DEADLINE_MS);
      const bDone = await textsDone(b, bJobs);
      const shown =
        behindB === undefined ? `over ${A_BEHIND_B_DEADLINE_MS} ms (not completed)` : `${behindB.toFixed(0)} ms`;
      const ratio = (behindB ?? A_BEHIND_B_DEADLINE_MS) / alone;
      process.stdout.write(
        `job fairness: key A's ${A_TEXTS} texts alone ${alone.toFixed(0)} ms ` +
          `(median of ${aloneRuns.map((run) => run.toFixed(0)).join(', ')}), behind key B's ${B_TEXTS} queued texts ` +
          `${shown} (×${ratio.toFixed(2)}); B had ${bDone} of ${B_TEXTS} texts done when A was measured\n`,
      );

      if (behindB === undefined) {
        throw new Error(
          `A's ${A_TEXTS}-text job did not complete within ${A_BEHIND_B_DEADLINE_MS} ms behind B's backlog ` +
            `(alone it took ${alone.toFixed(0)} ms; ${ALLOWED_RATIO}× is ${(alone * ALLOWED_RATIO).toFixed(0)} ms): ` +
            `B had ${bDone} of ${B_TEXTS} texts done meanwhile`,
        );
      }
      expect(behindB).toBeLessThanOrEqual(alone * ALLOWED_RATIO);
      // B really was queued ahead of A throughout: most of its backlog was still waiting when A completed.
      expect(bDone).toBeLessThan(B_TEXTS / 2);
    } finally {
      // Cancelled, so the suite ends promptly instead of after B's whole backlog.
      await Promise.all(bJobs.map((id) => b.cancel(id).then((response) => response.arrayBuffer())));
    }
  }, 600_000);
});
