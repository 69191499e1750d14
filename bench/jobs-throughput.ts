// npx tsx bench/jobs-throughput.ts [--base-url http://127.0.0.1:8000] [--texts 5000] [--words 20]
//                                  [--batch 100] [--concurrency 4]
// Bulk throughput of a running service (start it with REDIS_URL): texts/s of one job of --texts
// texts, against texts/s of the predict route answering the same number of other texts in requests
// of --batch texts, --concurrency at a time (503s retried after Retry-After, as a client would). Every text is new (random words, a fresh seed), so
// neither side is helped by the cache. Prints one JSON line.
import { parseArgs } from 'node:util';
import { randomText, seededRandom } from './lib/texts.js';

const { values } = parseArgs({
  options: {
    'base-url': { type: 'string', default: 'http://127.0.0.1:8000' },
    texts: { type: 'string', default: '5000' },
    words: { type: 'string', default: '20' },
    batch: { type: 'string', default: '100' },
    concurrency: { type: 'string', default: '4' },
  },
  strict: true,
});
const baseUrl = values['base-url'].replace(/\/+$/, '');
const count = Number(values.texts);
const words = Number(values.words);
const batch = Number(values.batch);
const concurrency = Number(values.concurrency);

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

async function job(all: string[]): Promise<number> {
  const started = performance.now();
  const submitted = await fetch(`${baseUrl}/v1/sentiment/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-ndjson' },
    body: all.map((text) => JSON.stringify({ text })).join('\n'),
  });
  if (submitted.status !== 202) throw new Error(`submit answered ${submitted.status}: ${await submitted.text()}`);
  const { id } = (await submitted.json()) as { id: string };
  for (;;) {
    const status = (await (await fetch(`${baseUrl}/v1/sentiment/jobs/${id}`)).json()) as { state: string };
    if (status.state === 'completed') break;
    if (status.state !== 'queued' && status.state !== 'running') throw new Error(`job ${status.state}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return all.length / ((performance.now() - started) / 1000);
}

async function main(): Promise<void> {
  const seed = Date.now();
  const model = ((await (await fetch(`${baseUrl}/v1/model`)).json()) as { name: string }).name;
  const syncTextsPerSecond = await syncRoute(texts(seed));
  const jobTextsPerSecond = await job(texts(seed + 1));
  console.log(
    JSON.stringify({
      model,
      texts: count,
      words,
      syncRoute: { batch, concurrency, retriedAfter503: retries, textsPerSecond: Math.round(syncTextsPerSecond) },
      job: { textsPerSecond: Math.round(jobTextsPerSecond) },
    }),
  );
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
