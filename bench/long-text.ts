// npx tsx bench/long-text.ts [--seconds 15] [--connections 2] [--words 1500] [--preset base]
//                            [--models-dir ./models] [--skip-build]
// What reading long texts whole costs (issue #27): the built server on the `base` baseline, texts of
// --words one-token words (1,502 tokens with [CLS] and [SEP]: 4 windows at the default 25 % stride),
// each request one new text (no cache hits), closed loop at --connections for --seconds, first with
// `long_text: "truncate"` (the first 512 tokens), then `"chunk"` (every window). Prints one JSON
// document: texts/s, text tokens/s (the whole texts' tokens), model tokens/s (what the model ran),
// windows per text and p50 latency per mode, and chunk's cost against truncate's.
import { parseArgs } from 'node:util';
import type { BaselinePreset } from '../src/config/settings.js';
import { describeMachine } from './lib/machine.js';
import { readModelCounters } from './lib/model-metrics.js';
import { buildService, ensureBaseline } from './lib/prepare.js';
import { startBenchServer, waitUntilDrained } from './lib/service.js';
import { summarize } from './lib/stats.js';
import { randomText, seededRandom } from './lib/texts.js';
import { progressLog } from './lib/progress.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '15' },
    connections: { type: 'string', default: '2' },
    words: { type: 'string', default: '1500' },
    preset: { type: 'string', default: 'base' },
    'models-dir': { type: 'string', default: './models' },
    'skip-build': { type: 'boolean', default: false },
  },
  strict: true,
});
const seconds = Number(values.seconds);
const connections = Number(values.connections);
const words = Number(values.words);
const MODES = ['truncate', 'chunk'] as const;
type Mode = (typeof MODES)[number];

interface Measurement {
  texts: number;
  textsPerSecond: number;
  /** Tokens of the whole texts answered, per second (what a caller submitted). */
  textTokensPerSecond: number;
  /** Tokens the model ran, per second (windows of 512, or the first 512 when cut). */
  modelTokensPerSecond: number;
  windowsPerText: number;
  p50Ms: number;
  /** Answers other than 200: a measurement with any is suspect. */
  errors: number;
}

const log = progressLog('long-text');

if (!values['skip-build']) buildService(log);
const modelsDir = values['models-dir'];
const modelId = ensureBaseline(modelsDir, values.preset as BaselinePreset, log);
let nextSeed = 1;

/** `connections` clients, each sending one new text as soon as its last one is answered. */
/** The service's model counters; this harness measures our own server, which always has them. */
async function modelCounters(baseUrl: string) {
  const counters = await readModelCounters(baseUrl);
  if (counters?.realTokens === undefined) throw new Error(`${baseUrl}/metrics has no model token counters`);
  return { ...counters, realTokens: counters.realTokens };
}

async function closedLoop(baseUrl: string, mode: Mode): Promise<Measurement> {
  const before = await modelCounters(baseUrl);
  const endAt = performance.now() + seconds * 1000;
  const latencies: number[] = [];
  let textTokens = 0;
  let windows = 0;
  let errors = 0;
  const client = async () => {
    while (performance.now() < endAt) {
      const text = `${nextSeed} ${randomText(seededRandom(nextSeed++), words - 1)}`;
      const sent = performance.now();
      const response = await fetch(`${baseUrl}/v1/sentiment/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ text: [text], long_text: mode, details: true }),
      });
      const body = (await response.json()) as { details?: { tokens: number; windows?: number }[] };
      if (response.status !== 200 || !body.details) {
        errors++;
        continue;
      }
      latencies.push(performance.now() - sent);
      textTokens += body.details[0].tokens;
      windows += body.details[0].windows ?? 1;
    }
  };
  await Promise.all(Array.from({ length: connections }, client));
  const after = await modelCounters(baseUrl);
  const elapsed = (after.at - before.at) / 1000;
  return {
    texts: latencies.length,
    textsPerSecond: latencies.length / elapsed,
    textTokensPerSecond: textTokens / elapsed,
    modelTokensPerSecond: (after.realTokens - before.realTokens) / elapsed,
    windowsPerText: windows / latencies.length,
    p50Ms: summarize(latencies).p50,
    errors,
  };
}

const { server } = await startBenchServer('long-text', { modelDir: modelsDir, modelId, dtype: 'fp32' });
const results = {} as Record<Mode, Measurement>;
try {
  for (const mode of MODES) {
    await waitUntilDrained(server.baseUrl);
    log(`${mode}: ${connections} clients × one ${words}-word text per request, ${seconds} s`);
    results[mode] = await closedLoop(server.baseUrl, mode);
    const r = results[mode];
    log(
      `  ${r.textsPerSecond.toFixed(2)} texts/s, ${Math.round(r.textTokensPerSecond)} text tokens/s, ` +
        `${Math.round(r.modelTokensPerSecond)} model tokens/s, ${r.windowsPerText.toFixed(1)} windows/text, ` +
        `p50 ${Math.round(r.p50Ms)} ms, ${r.errors} errors`,
    );
  }
} finally {
  await server.stop();
}
console.log(
  JSON.stringify(
    {
      machine: describeMachine(),
      model: modelId,
      words,
      seconds,
      connections,
      results,
      chunkCostPerText: results.truncate.textsPerSecond / results.chunk.textsPerSecond,
    },
    null,
    2,
  ),
);
