// npx tsx bench/jobs-throughput.ts [--base-url http://127.0.0.1:8000] [--texts 5000] [--words 20]
//                                  [--batch 100] [--concurrency 4]
// Bulk throughput of a running service (start it with REDIS_URL): texts/s of one job of --texts
// texts, against texts/s of the predict route answering the same number of other texts in requests
// of --batch texts, --concurrency at a time (503s retried after Retry-After, as a client would). Every text is new (random words, a fresh seed), so
// neither side is helped by the cache. Then what a job costs interactive traffic: the p99 latency of
// one-text requests (one every 100 ms, --probes of them) on the idle service, and again while a job
// of --texts texts runs. Prints one JSON line.
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { randomText, seededRandom } from './lib/texts.js';

const { values } = parseArgs({
  options: {
    'base-url': { type: 'string', default: 'http://127.0.0.1:8000' },
    texts: { type: 'string', default: '5000' },
    words: { type: 'string', default: '20' },
    batch: { type: 'string', default: '100' },
    concurrency: { type: 'string', default: '4' },
    probes: { type: 'string', default: '200' },
  },
  strict: true,
});
const baseUrl = values['base-url'].replace(/\/+$/, '');
const count = Number(values.texts);
const words = Number(values.words);
const batch = Number(values.batch);
const concurrency = Number(values.concurrency);
const probes = Number(values.probes);

function texts(seed: number): string[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, (_, i) => `${seed} ${i} ${randomText(random, words)}`);
}

let retries = 0;

async function syncRoute(all: string[]): Promise<number> {
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < all.length) {
      const slice = all.slice(next, next + batch);
      next += batch;
      // As a partner's client would: a 503 (over capacity) is retried after its Retry-After.
      for (;;) {
        const response = await fetch(`${baseUrl}/v1/sentiment/predict`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ text: slice }),
        });
        await response.arrayBuffer();
        if (response.status === 200) break;
        if (response.status !== 503) throw new Error(`predict answered ${response.status}`);
        retries++;
        await new Promise((resolve) => setTimeout(resolve, 1000 * Number(response.headers.get('retry-after') ?? 1)));
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return all.length / ((performance.now() - started) / 1000);
}

/** The bench's server has no API keys: its jobs belong to this token. */
const JOB_TOKEN_HEADERS = { 'job-token': randomBytes(32).toString('base64url') };

async function submitJob(all: string[]): Promise<string> {
  const submitted = await fetch(`${baseUrl}/v1/sentiment/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-ndjson', ...JOB_TOKEN_HEADERS },
    body: all.map((text) => JSON.stringify({ text })).join('\n'),
  });
  if (submitted.status !== 202) throw new Error(`submit answered ${submitted.status}: ${await submitted.text()}`);
  return ((await submitted.json()) as { id: string }).id;
}

async function jobState(id: string): Promise<string> {
  const { state } = (await (
    await fetch(`${baseUrl}/v1/sentiment/jobs/${id}`, { headers: JOB_TOKEN_HEADERS })
  ).json()) as { state: string };
  if (state !== 'queued' && state !== 'running' && state !== 'completed') throw new Error(`job ${state}`);
  return state;
}

async function job(all: string[]): Promise<number> {
  const started = performance.now();
  const id = await submitJob(all);
  while ((await jobState(id)) !== 'completed') await sleep(100);
  return all.length / ((performance.now() - started) / 1000);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** p99 of one-text requests (new texts), one every 100 ms; every answer must be a 200. */
async function interactiveP99(seed: number, whileRunning?: () => Promise<boolean>): Promise<number> {
  const random = seededRandom(seed);
  const latencies: number[] = [];
  for (let i = 0; i < probes && (whileRunning === undefined || (await whileRunning())); i++) {
    const started = performance.now();
    const response = await fetch(`${baseUrl}/v1/sentiment/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: [`${seed} probe ${i} ${randomText(random, words)}`] }),
    });
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`an interactive request got ${response.status}`);
    latencies.push(performance.now() - started);
    await sleep(100);
  }
  latencies.sort((a, b) => a - b);
  return latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * 0.99))];
}

async function main(): Promise<void> {
  const seed = Date.now();
  const model = ((await (await fetch(`${baseUrl}/v1/model`)).json()) as { name: string }).name;
  const syncTextsPerSecond = await syncRoute(texts(seed));
  const jobTextsPerSecond = await job(texts(seed + 1));
  const idleP99 = await interactiveP99(seed + 2);
  const running = await submitJob(texts(seed + 3));
  const busyP99 = await interactiveP99(seed + 4, async () => (await jobState(running)) !== 'completed');
  console.log(
    JSON.stringify({
      model,
      texts: count,
      words,
      syncRoute: { batch, concurrency, retriedAfter503: retries, textsPerSecond: Math.round(syncTextsPerSecond) },
      job: { textsPerSecond: Math.round(jobTextsPerSecond) },
      interactiveOneText: {
        idleP99Ms: Math.round(idleP99),
        duringJobP99Ms: Math.round(busyP99),
        ratio: Number((busyP99 / idleP99).toFixed(2)),
      },
    }),
  );
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
