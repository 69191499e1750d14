// npm run bench [-- --quick] [--dtypes fp32,q8] [--models-dir ./models] [--out file.json] [--skip-build]
//                 [--env NAME=value ...]  (service settings for the benchmarked servers, e.g. BATCH_WINDOW_MS=5)
// Measures the service on the `base` baseline (DistilBERT-base compute) against the engine's own
// ceiling and the goals of issue #6, prints one Markdown table and writes it with every number
// to bench/results/<date>.json (--quick: a short smoke run of the harness, written under test-output/).
// Load comes from separate processes (bench/lib/load-child.ts) so it never shares the server's
// event loop or the harness's. See docs/PERFORMANCE.md.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import * as prettier from 'prettier';
import { PayloadGenerator, type PayloadOptions } from '../k6/lib/payload.js';
import { loadSettings, type ModelDtype } from '../src/config/settings.js';
import { baselineModelId } from '../src/model/baseline/write-baseline-model.js';
import { modelFolder, onnxFileName } from '../src/model/model-files.js';
import { runChild } from './lib/children.js';
import type { EngineInput, EngineResult } from './lib/engine-child.js';
import type { LoadSpec } from './lib/http-load.js';
import type { LoadSummary } from './lib/load-summary.js';
import { describeMachine } from './lib/machine.js';
import { buildService, ensureBaseline } from './lib/prepare.js';
import { resultStamp } from './lib/result-stamp.js';
import {
  checkTargets,
  maxOneTextRps,
  renderTable,
  type CacheHitRun,
  type DtypeRun,
  type MissRun,
  type RateRun,
} from './lib/report.js';
import {
  fillCache,
  peakRssMiB,
  startBenchServer,
  startOwnRedis,
  waitUntilDrained,
  type ServerProcess,
} from './lib/service.js';

const ENGINE_CHILD = new URL('./lib/engine-child.ts', import.meta.url);
const LOAD_CHILD = new URL('./lib/load-child.ts', import.meta.url);
const MODEL_ID = baselineModelId('base');
const ENGINE_BATCH_SIZES = [1, 8, 32, 64];
const MISS_CONNECTIONS = [1, 8, 32];
const MISS_BATCH_SIZES = [1, 16];
const CACHE_HIT_CONNECTIONS = 8;
const POOL_SIZE = 100;
/** Upper bound on autocannon connections for the paced runs (one per request/s offered). */
const MAX_PACED_CONNECTIONS = 2000;

interface Durations {
  engineSecondsPerBatch: number;
  warmUp: number;
  miss: number;
  halfLoad: number;
  overload: number;
  cacheHits: number;
}

const FULL: Durations = {
  engineSecondsPerBatch: 4,
  warmUp: 2,
  miss: 8,
  halfLoad: 8,
  overload: 10,
  cacheHits: 8,
};
const QUICK: Durations = {
  engineSecondsPerBatch: 1,
  warmUp: 1,
  miss: 2,
  halfLoad: 2,
  overload: 3,
  cacheHits: 2,
};

const unique = (batchSize: number): PayloadOptions => ({ batchSize, cacheHitRatio: 0, poolSize: 1 });

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

function load(spec: LoadSpec): Promise<LoadSummary> {
  return runChild<LoadSummary>(LOAD_CHILD, spec);
}

/** (a): the model in-process, no HTTP, no batcher. */
function measureEngine(dtype: ModelDtype, modelsDir: string, d: Durations): Promise<EngineResult> {
  log(`${dtype}: (a) engine ceiling, in-process ModelRuntime`);
  return runChild<EngineResult>(ENGINE_CHILD, {
    modelDir: modelsDir,
    modelId: MODEL_ID,
    dtype,
    batchSizes: ENGINE_BATCH_SIZES,
    secondsPerBatchSize: d.engineSecondsPerBatch,
  } satisfies EngineInput);
}

/** (b), half load, overload and (e) on one server with the in-memory cache and unique texts. */
async function measureService(run: DtypeRun, server: ServerProcess, d: Durations): Promise<void> {
  const base = { baseUrl: server.baseUrl, allowShedding: true };
  log(`${run.dtype}: (b) cache misses against node dist/main.js`);
  await load({ ...base, durationSeconds: d.warmUp, connections: 8, payload: unique(1) });
  run.misses = [];
  for (const batchSize of MISS_BATCH_SIZES) {
    for (const connections of MISS_CONNECTIONS) {
      await waitUntilDrained(server.baseUrl);
      const summary = await load({ ...base, durationSeconds: d.miss, connections, payload: unique(batchSize) });
      run.misses.push({ connections, batchSize, summary } satisfies MissRun);
      log(`  ${batchSize} text(s) × ${connections} conn: ${Math.round(summary.sentencesPerSecond)} sentences/s`);
    }
  }
  const paced = async (rate: number, durationSeconds: number): Promise<RateRun> => {
    await waitUntilDrained(server.baseUrl);
    const connections = Math.min(MAX_PACED_CONNECTIONS, Math.ceil(rate));
    return { rate, summary: await load({ ...base, durationSeconds, rate, connections, payload: unique(1) }) };
  };
  const max = maxOneTextRps(run);
  log(`${run.dtype}: one text at half the max throughput (${Math.round(max / 2)} req/s)`);
  run.halfLoad = await paced(max / 2, d.halfLoad);
  log(`${run.dtype}: overload at 2× the max throughput (${Math.round(max * 2)} req/s)`);
  run.overload = await paced(max * 2, d.overload);
  run.peakRssMB = (peakRssMiB(server.child.pid!) * 1024 * 1024) / 1e6;
}

/** (c): a server with Redis, a pool of texts cached first, then only those texts. */
async function measureCacheHits(server: ServerProcess, d: Durations): Promise<CacheHitRun> {
  const payload = { batchSize: 1, cacheHitRatio: 1, poolSize: POOL_SIZE };
  const warmedCacheHeader = await fillCache(server.baseUrl, new PayloadGenerator(payload).pool());
  const summary = await load({
    baseUrl: server.baseUrl,
    allowShedding: true,
    durationSeconds: d.cacheHits,
    connections: CACHE_HIT_CONNECTIONS,
    payload,
  });
  return { connections: CACHE_HIT_CONNECTIONS, warmedCacheHeader, summary };
}

async function measureDtype(
  dtype: ModelDtype,
  modelsDir: string,
  d: Durations,
  extraEnv: Record<string, string>,
): Promise<DtypeRun> {
  const onnx = join(modelFolder(modelsDir, MODEL_ID), onnxFileName(dtype));
  if (!existsSync(onnx)) {
    return {
      dtype,
      skipped:
        `${onnx} is missing; regenerate the baseline with a generator that writes it ` +
        `(npm run model:baseline -- --preset base --models-dir ${modelsDir}) and run again`,
    };
  }
  const serverOptions = { modelDir: modelsDir, modelId: MODEL_ID, dtype, extraEnv };
  const run: DtypeRun = { dtype, engine: await measureEngine(dtype, modelsDir, d) };

  const { server, readyMs } = await startBenchServer(`bench-${dtype}`, serverOptions);
  run.readyMs = readyMs;
  try {
    await measureService(run, server, d);
  } finally {
    await server.stop();
  }

  log(`${dtype}: (c) cache hits with Redis`);
  const redis = await startOwnRedis();
  try {
    const hits = await startBenchServer(`bench-${dtype}-redis`, { ...serverOptions, redisUrl: redis.url });
    try {
      run.cacheHits = await measureCacheHits(hits.server, d);
    } finally {
      await hits.server.stop();
    }
  } finally {
    await redis.stop();
  }
  return run;
}

function resultPath(quick: boolean, startedAt: Date): string {
  const stamp = resultStamp(startedAt);
  return quick ? join('test-output', 'bench', `${stamp}-quick.json`) : join('bench', 'results', `${stamp}.json`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      dtypes: { type: 'string', default: 'fp32,q8' },
      'models-dir': { type: 'string', default: './models' },
      out: { type: 'string' },
      'skip-build': { type: 'boolean', default: false },
      env: { type: 'string', multiple: true, default: [] },
    },
    strict: true,
  });
  const startedAt = new Date();
  const durations = values.quick ? QUICK : FULL;
  const modelsDir = resolve(values['models-dir']);
  const dtypes = values.dtypes.split(',').map((dtype) => {
    if (dtype !== 'fp32' && dtype !== 'q8') throw new Error(`--dtypes takes fp32 and/or q8, not ${dtype}`);
    return dtype;
  });

  const extraEnv = Object.fromEntries(
    values.env.map((pair) => {
      const at = pair.indexOf('=');
      if (at < 1) throw new Error(`--env takes NAME=value, not ${pair}`);
      return [pair.slice(0, at), pair.slice(at + 1)];
    }),
  );
  // The service's batching and queue settings as the benchmarked servers resolve them; a bad
  // --env value fails here, before anything starts.
  const settings = loadSettings({ NODE_ENV: 'production', ALLOW_ANONYMOUS: 'true', ...extraEnv });

  if (!values['skip-build']) buildService(log);
  ensureBaseline(modelsDir, 'base', log);
  const machine = describeMachine();

  const runs: DtypeRun[] = [];
  for (const dtype of dtypes) runs.push(await measureDtype(dtype, modelsDir, durations, extraEnv));

  const targets = checkTargets(runs);
  const table = renderTable(runs, targets);
  const notes = [
    ...runs.filter((run) => run.skipped).map((run) => `${run.dtype} skipped: ${run.skipped}`),
    ...runs
      .filter((run) => run.cacheHits && run.cacheHits.warmedCacheHeader !== 'HIT')
      .map(
        (run) =>
          `${run.dtype} (c): a cached text came back with X-Cache ${run.cacheHits?.warmedCacheHeader}, not HIT: ` +
          'those requests were not served from the cache',
      ),
    ...(values.quick
      ? ['--quick: every measurement shortened to a few seconds; a smoke run of the harness, not a result']
      : []),
  ];
  const loadAverageAtEnd = loadavg()[0];
  const result = {
    startedAt: startedAt.toISOString(),
    command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
    quick: values.quick,
    machine: { ...machine, loadAverageAtEnd },
    model: MODEL_ID,
    serviceEnv: extraEnv,
    serviceSettings: {
      batchMaxTexts: settings.batchMaxTexts,
      batchWindowMs: settings.batchWindowMs,
      queueMaxTexts: settings.queueMaxTexts,
      maxConcurrentBatches: settings.maxConcurrentBatches,
      requestTimeoutMs: settings.requestTimeoutMs,
    },
    durationsSeconds: durations,
    runs,
    targets,
    notes,
    table,
  };

  const out = values.out ?? resultPath(values.quick, startedAt);
  mkdirSync(dirname(out), { recursive: true });
  const json = JSON.stringify(result, null, 2);
  writeFileSync(out, await prettier.format(json, { ...(await prettier.resolveConfig(out)), filepath: out }));

  console.log(table);
  for (const note of notes) console.log(`\nNote: ${note}`);
  console.log(
    `\n${machine.cpuModel}, ${machine.usableCpus} usable CPUs, Node ${machine.node}, onnxruntime-node ` +
      `${machine.onnxruntimeNode}; load average ${machine.loadAverageAtStart.toFixed(2)} at start, ` +
      `${loadAverageAtEnd.toFixed(2)} at end (well above 0: other work competed and the numbers are low).`,
  );
  console.log(`Written to ${out}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exitCode = 1;
});
