// npx tsx bench/jobs-fairness.ts [--model base|tiny] [--dtype fp32|q8] [--models-dir ./models] [--skip-build]
//                                [--texts 2000] [--backlog-texts 200000] [--backlog-jobs 4] [--words 20]
//                                [--alone-runs 3] [--deadline-seconds 600]
//                                [--base-url http://127.0.0.1:8000 --key-a KEY --key-b KEY]
// Issue #22 item 6, fairness of bulk jobs between API keys: how long key A's job of --texts texts
// takes alone (the median of --alone-runs jobs on the idle service), and again while key B has
// --backlog-texts texts queued ahead of it, split over --backlog-jobs jobs submitted one after
// another (a hostile tenant splits its work); A's second job is submitted once B's first job is
// running. The target: behind the backlog, at most 2× alone. Every text is new (random words, a
// fresh seed), so nothing comes from the cache. B's jobs are cancelled at the end.
// Without --base-url it builds dist/ (unless --skip-build) and starts its own redis-server and the
// built server (production settings, the `base` baseline by default) with two API keys. With
// --base-url, the running server must have Redis and both --key-a and --key-b in API_KEYS.
// Prints one JSON line (progress goes to stderr); see docs/PERFORMANCE.md.
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { BaselinePreset, ModelDtype } from '../src/config/settings.js';
import type { RedisServer } from '../test/support/redis-server.js';
import { describeMachine } from './lib/machine.js';
import { buildService, ensureBaseline } from './lib/prepare.js';
import { startBenchServer, startOwnRedis, type ServerProcess } from './lib/service.js';
import { randomText, seededRandom } from './lib/texts.js';
import { progressLog } from './lib/progress.js';

/** The target: A's job behind the backlog takes at most this many times its time alone. */
const TARGET_RATIO = 2;
/** Texts of the warm-up job, so "alone" is not inflated by the first model calls and connections. */
const WARM_UP_TEXTS = 256;
/** Longest wait for a job on the idle service, and for B's first job to start. */
const IDLE_DEADLINE_MS = 600_000;
/** Status polls this often, so the times are not rounded up to a coarse poll. */
const POLL_MS = 25;

const { values } = parseArgs({
  options: {
    'base-url': { type: 'string' },
    'key-a': { type: 'string' },
    'key-b': { type: 'string' },
    model: { type: 'string', default: 'base' },
    dtype: { type: 'string', default: 'fp32' },
    'models-dir': { type: 'string', default: './models' },
    'skip-build': { type: 'boolean', default: false },
    texts: { type: 'string', default: '2000' },
    'backlog-texts': { type: 'string', default: '200000' },
    'backlog-jobs': { type: 'string', default: '4' },
    words: { type: 'string', default: '20' },
    'alone-runs': { type: 'string', default: '3' },
    'deadline-seconds': { type: 'string', default: '600' },
  },
  strict: true,
});

const count = Number(values.texts);
const backlogTexts = Number(values['backlog-texts']);
const backlogJobs = Number(values['backlog-jobs']);
const words = Number(values.words);
const aloneRuns = Number(values['alone-runs']);
const deadlineMs = Number(values['deadline-seconds']) * 1000;

const log = progressLog('jobs-fairness');

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

interface Status {
  state: string;
  textsDone: number;
  textsTotal: number;
}

/** The jobs routes as one API key. */
class Tenant {
  constructor(
    private readonly baseUrl: string,
    private readonly key: string,
  ) {}

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return { authorization: `Bearer ${this.key}`, ...extra };
  }

  async submit(texts: string[]): Promise<string> {
    const response = await fetch(`${this.baseUrl}/v1/sentiment/jobs`, {
      method: 'POST',
      headers: this.headers({ 'content-type': 'application/x-ndjson' }),
      body: texts.map((text) => JSON.stringify({ text })).join('\n') + '\n',
    });
    if (response.status !== 202) throw new Error(`submit answered ${response.status}: ${await response.text()}`);
    return ((await response.json()) as { id: string }).id;
  }

  async status(id: string): Promise<Status> {
    const response = await fetch(`${this.baseUrl}/v1/sentiment/jobs/${id}`, { headers: this.headers() });
    if (response.status !== 200) throw new Error(`status answered ${response.status}: ${await response.text()}`);
    return (await response.json()) as Status;
  }

  async cancel(id: string): Promise<void> {
    const response = await fetch(`${this.baseUrl}/v1/sentiment/jobs/${id}`, {
      method: 'DELETE',
      headers: this.headers(),
    });
    await response.arrayBuffer();
  }

  /** Wall time from just before the submission to the poll that saw `completed`; undefined past the deadline. */
  async timeJob(texts: string[], deadline: number): Promise<number | undefined> {
    const begun = performance.now();
    const id = await this.submit(texts);
    for (;;) {
      const { state } = await this.status(id);
      const elapsed = performance.now() - begun;
      if (state === 'completed') return elapsed;
      if (state !== 'queued' && state !== 'running') throw new Error(`job ${id} ended ${state}`);
      if (elapsed > deadline) return undefined;
      await sleep(POLL_MS);
    }
  }
}

let nextSeed = Date.now();

/** `n` new texts (a seed of their own, numbered), so no answer comes from the cache. */
function freshTexts(n: number): string[] {
  const seed = nextSeed++;
  const random = seededRandom(seed);
  return Array.from({ length: n }, (_, i) => `${seed} ${i} ${randomText(random, words)}`);
}

function median(samples: number[]): number {
  const sorted = [...samples].sort((x, y) => x - y);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

async function measure(baseUrl: string, keyA: string, keyB: string) {
  const a = new Tenant(baseUrl, keyA);
  const b = new Tenant(baseUrl, keyB);
  const model = (
    (await (await fetch(`${baseUrl}/v1/model`, { headers: { authorization: `Bearer ${keyA}` } })).json()) as {
      name: string;
    }
  ).name;

  log(`warm-up: key A, ${WARM_UP_TEXTS} texts`);
  if ((await a.timeJob(freshTexts(WARM_UP_TEXTS), IDLE_DEADLINE_MS)) === undefined)
    throw new Error('warm-up timed out');
  const aloneRunsMs: number[] = [];
  for (let i = 0; i < aloneRuns; i++) {
    const ms = await a.timeJob(freshTexts(count), IDLE_DEADLINE_MS);
    if (ms === undefined) throw new Error(`A's job alone did not complete within ${IDLE_DEADLINE_MS} ms`);
    aloneRunsMs.push(ms);
    log(`key A alone, ${count} texts: ${ms.toFixed(0)} ms`);
  }
  const aloneMs = median(aloneRunsMs);

  const perJob = Math.ceil(backlogTexts / backlogJobs);
  const bJobs: string[] = [];
  try {
    for (let submitted = 0; submitted < backlogTexts; submitted += perJob) {
      bJobs.push(await b.submit(freshTexts(Math.min(perJob, backlogTexts - submitted))));
    }
    log(`key B submitted ${backlogTexts} texts in ${bJobs.length} jobs; waiting for its first job to run`);
    const startDeadline = performance.now() + IDLE_DEADLINE_MS;
    for (;;) {
      const first = await b.status(bJobs[0]);
      if (first.state === 'running' && first.textsDone > 0) break;
      if (performance.now() > startDeadline) throw new Error(`B's first job was still ${first.state}`);
      await sleep(POLL_MS);
    }
    const backlogDoneAtStart = await backlogDone(b, bJobs);
    log(`key A, ${count} texts behind key B's backlog (${backlogDoneAtStart} of it done), deadline ${deadlineMs} ms`);
    const withBacklogMs = await a.timeJob(freshTexts(count), deadlineMs);
    const backlogDoneAtEnd = await backlogDone(b, bJobs);
    log(
      withBacklogMs === undefined
        ? `key A's job did not complete within ${deadlineMs} ms`
        : `key A behind the backlog: ${withBacklogMs.toFixed(0)} ms`,
    );
    const ratio = (withBacklogMs ?? deadlineMs) / aloneMs;
    return {
      model,
      texts: count,
      words,
      aloneRunsMs: aloneRunsMs.map(Math.round),
      aloneMs: Math.round(aloneMs),
      /** null: not completed within deadlineMs (ratio is then a lower bound). */
      withBacklogMs: withBacklogMs === undefined ? null : Math.round(withBacklogMs),
      completed: withBacklogMs !== undefined,
      deadlineMs,
      ratio: Number(ratio.toFixed(2)),
      targetRatio: TARGET_RATIO,
      met: withBacklogMs !== undefined && ratio <= TARGET_RATIO,
      backlogTexts,
      backlogJobs: bJobs.length,
      /** B's texts answered when A's job was submitted, and when it completed (or the deadline passed). */
      backlogDoneAtStart,
      backlogDoneAtEnd,
    };
  } finally {
    await Promise.all(bJobs.map((id) => b.cancel(id).catch(() => undefined)));
  }
}

function oneOf<T extends string>(flag: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value))
    throw new Error(`${flag} takes ${allowed.join(' or ')}, not ${value}`);
  return value as T;
}

async function backlogDone(b: Tenant, ids: string[]): Promise<number> {
  const statuses = await Promise.all(ids.map((id) => b.status(id)));
  return statuses.reduce((sum, status) => sum + status.textsDone, 0);
}

async function main(): Promise<void> {
  const machine = describeMachine();
  let result: Awaited<ReturnType<typeof measure>>;
  let serviceSetup: Record<string, unknown>;
  if (values['base-url'] !== undefined) {
    const keyA = values['key-a'];
    const keyB = values['key-b'];
    if (!keyA || !keyB || keyA === keyB) {
      throw new Error('--base-url needs two different API keys of that server: --key-a and --key-b');
    }
    serviceSetup = { baseUrl: values['base-url'] };
    result = await measure(values['base-url'].replace(/\/+$/, ''), keyA, keyB);
  } else {
    const preset = oneOf<BaselinePreset>('--model', values.model, ['base', 'tiny']);
    const dtype = oneOf<ModelDtype>('--dtype', values.dtype, ['fp32', 'q8']);
    const modelsDir = resolve(values['models-dir']);
    if (!values['skip-build']) buildService(log);
    const modelId = ensureBaseline(modelsDir, preset, log);
    const [keyA, keyB] = [randomBytes(16).toString('hex'), randomBytes(16).toString('hex')];
    let redis: RedisServer | undefined;
    let server: ServerProcess | undefined;
    try {
      redis = await startOwnRedis();
      ({ server } = await startBenchServer('bench-jobs-fairness', {
        modelDir: modelsDir,
        modelId,
        dtype,
        redisUrl: redis.url,
        extraEnv: {
          API_KEYS: `${keyA},${keyB}`,
          // A generous quota: B holds the whole backlog and its results at once.
          JOB_STORED_BYTES_PER_KEY: String(1024 ** 3),
        },
      }));
      serviceSetup = { baseline: preset, dtype, modelId };
      result = await measure(server.baseUrl, keyA, keyB);
    } finally {
      await server?.stop();
      await redis?.stop();
    }
  }
  console.log(
    JSON.stringify({ ...result, service: serviceSetup, machine: { ...machine, loadAverageAtEnd: loadavg()[0] } }),
  );
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exitCode = 1;
});
