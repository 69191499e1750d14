// npm run bench [-- --quick] [--only engine,batch,...] [--dtypes fp32,q8] [--models-dir ./models]
//                 [--original-dir ../shared/peers/seed-py] [--out file.json] [--skip-build]
//                 [--env NAME=value ...]  (service settings for the benchmarked servers, e.g. BATCH_WINDOW_MS=2)
// Measures the service on the `base` baseline (DistilBERT-base compute) against the engine's own
// ceiling on the same texts, and the FastAPI original in the same run, with the goals of issue #12;
// prints the Markdown tables and writes them with every number to bench/results/<date>.json
// (--quick: a short smoke run of the harness, written under test-output/). Load comes from
// separate processes (bench/lib/load-child.ts, scenario-child.ts) so it never shares the server's
// event loop or the harness's. See docs/PERFORMANCE.md.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import * as prettier from 'prettier';
import { PayloadGenerator, type PayloadOptions } from '../k6/lib/payload.js';
import { loadSettings, type ModelDtype, type Settings } from '../src/config/settings.js';
import { baselineModelId } from '../src/baseline-model/write-baseline-model.js';
import { usableCpuCount } from '../src/model/cpu-budget.js';
import { modelFolder, onnxFileName } from '../src/model/model-files.js';
import { runChild } from './lib/children.js';
import type { EngineInput, EngineResult } from './lib/engine-child.js';
import type { LoadChildInput } from './lib/load-child.js';
import { describeStatuses, type LoadSummary } from './lib/load-summary.js';
import { describeMachine, readCpuTimes, stealShare } from './lib/machine.js';
import { ORIGINAL_PATH, originalUnavailable, startOriginal } from './lib/original.js';
import { buildService, ensureBaseline } from './lib/prepare.js';
import {
  checkTargets,
  maxOneTextRps,
  maxSixteenTextSentences,
  promisedDeadlineMs,
  renderTable,
  renderTargets,
  type CacheHitRun,
  type ClosedLoopName,
  type ClosedLoopRun,
  type DtypeRun,
  type MissRun,
  type OriginalRun,
  type OverloadRun,
  type RateRun,
  type SessionLayoutRun,
} from './lib/report.js';
import { resultStamp } from './lib/result-stamp.js';
import type { ScenarioInput, ScenarioResult } from './lib/scenario-child.js';
import {
  fillCache,
  peakRssMiB,
  resetPeakRss,
  startBenchServer,
  startOwnRedis,
  waitUntilDrained,
  type BenchServerOptions,
  type ServerProcess,
} from './lib/service.js';
import { MIXED_LENGTHS, type MixedLengthOptions } from './lib/texts.js';
import type { TokenizerLocation } from './lib/token-count.js';
import { progressLog } from './lib/progress.js';

const ENGINE_CHILD = new URL('./lib/engine-child.ts', import.meta.url);
const LOAD_CHILD = new URL('./lib/load-child.ts', import.meta.url);
const SCENARIO_CHILD = new URL('./lib/scenario-child.ts', import.meta.url);
const MODEL_ID = baselineModelId('base');
const ENGINE_BATCH_SIZES = [1, 8, 32, 64];
const SESSION_LAYOUT_BATCH_SIZES = [1, 8, 32];
/** Model-call shapes (texts × tokens) from 512 to 4,096 padded tokens, short to the longest texts. */
const CALL_SHAPES = [
  { texts: 32, tokens: 16 },
  { texts: 64, tokens: 16 },
  { texts: 8, tokens: 64 },
  { texts: 16, tokens: 64 },
  { texts: 32, tokens: 64 },
  { texts: 4, tokens: 128 },
  { texts: 8, tokens: 128 },
  { texts: 16, tokens: 128 },
  { texts: 1, tokens: 512 },
  { texts: 2, tokens: 512 },
  { texts: 4, tokens: 512 },
  { texts: 8, tokens: 512 },
];
const MISS_CONNECTIONS = [1, 8, 32];
const MISS_BATCH_SIZES = [1, 16];
const CACHE_HIT_CONNECTIONS = 8;
/** Steal above this share of the CPU time is named in the notes (a busy host took 20–33 % on 8 December 2026). */
const STEAL_PERCENT_NOTED = 5;
/** Rest between the cache hits and the floor, so the second side does not start on a hot machine. */
const FLOOR_SETTLE_MS = 3000;
/** The engine's token-budget batches for the mixed-length texts (a second bound: texts per call). */
const ENGINE_TOKEN_BUDGET = 2048;
const ENGINE_MAX_TEXTS = 32;
const MIXED_SEED = 12;
/** Upper bound on autocannon connections for the paced runs. */
const MAX_PACED_CONNECTIONS = 2000;
/** Deadline of the fairness scenario's server: long enough to admit 200 texts of 512 tokens (fp32). */
const FAIRNESS_TIMEOUT_MS = 180_000;
/**
 * Requests an overload run may keep in flight, in seconds of its offered rate: a paced run cannot
 * send while all its connections wait, so answers slower than this lower the rate actually sent.
 */
const OVERLOAD_IN_FLIGHT_SECONDS = 2;
/** Client timeout beyond the promised deadline, so an answer at the deadline is still seen. */
const TIMEOUT_MARGIN_SECONDS = 10;

const SCENARIOS = [
  'engine',
  'sessions',
  'shapes',
  'burst',
  'misses',
  'batch',
  'mixed',
  'half-load',
  'overload',
  'fairness',
  'worst-input',
  'cache-hits',
  'original',
] as const;
type Scenario = (typeof SCENARIOS)[number];

interface Durations {
  engineSecondsPerBatch: number;
  /** Mixed-length texts the engine classifies by token budget. */
  engineMixedTexts: number;
  warmUp: number;
  miss: number;
  closedLoop: number;
  halfLoad: number;
  overload: number;
  cacheHits: number;
  /** ~512-token texts in the fairness scenario's long request. */
  fairnessLongTexts: number;
  /** Longest wait for the fairness scenario's long request. */
  longRequestLimit: number;
  /** Longest wait for the worst input (0: the promised deadline + margin); its server is stopped after. */
  worstInputLimit: number;
}

const FULL: Durations = {
  engineSecondsPerBatch: 4,
  engineMixedTexts: 256,
  warmUp: 2,
  miss: 8,
  closedLoop: 15,
  halfLoad: 8,
  overload: 10,
  cacheHits: 8,
  fairnessLongTexts: 200,
  longRequestLimit: 150,
  worstInputLimit: 0,
};
const QUICK: Durations = {
  engineSecondsPerBatch: 1,
  engineMixedTexts: 32,
  warmUp: 1,
  miss: 2,
  closedLoop: 3,
  halfLoad: 2,
  overload: 3,
  cacheHits: 2,
  fairnessLongTexts: 10,
  longRequestLimit: 15,
  worstInputLimit: 5,
};

const unique = (batchSize: number): PayloadOptions => ({ batchSize, cacheHitRatio: 0, poolSize: 1 });
const repeatedBody: PayloadOptions = { batchSize: 1, cacheHitRatio: 1, poolSize: 1 };
const mixedLengths: MixedLengthOptions = { ...MIXED_LENGTHS, seed: MIXED_SEED };

interface Context {
  only: Set<Scenario>;
  d: Durations;
  modelsDir: string;
  settings: Settings;
  extraEnv: Record<string, string>;
  tokenizer: TokenizerLocation;
}

const log = progressLog('bench');

function load(spec: LoadChildInput): Promise<LoadSummary> {
  return runChild<LoadSummary>(LOAD_CHILD, spec);
}

function scenario<T extends ScenarioResult>(input: ScenarioInput): Promise<T> {
  return runChild<T>(SCENARIO_CHILD, input);
}

const mb = (pid: number) => (peakRssMiB(pid) * 1024 * 1024) / 1e6;

/** (a): the model in-process, no HTTP, no batcher. */
function measureEngine(dtype: ModelDtype, ctx: Context): Promise<EngineResult> {
  log(`${dtype}: (a) engine ceiling and token-budget batches, in-process ModelRuntime`);
  return runChild<EngineResult>(ENGINE_CHILD, {
    modelDir: ctx.modelsDir,
    modelId: MODEL_ID,
    dtype,
    batchSizes: ENGINE_BATCH_SIZES,
    secondsPerBatchSize: ctx.d.engineSecondsPerBatch,
    mixed: {
      options: mixedLengths,
      texts: ctx.d.engineMixedTexts,
      tokenBudget: ENGINE_TOKEN_BUDGET,
      maxTexts: ENGINE_MAX_TEXTS,
    },
  } satisfies EngineInput);
}

/**
 * Issue #12 point 7: one session with every CPU's intra-op thread, against one single-threaded
 * session per CPU running calls at the same time (as one model worker each would), at batch sizes
 * 1 to 32 of short texts. The service runs the first layout (one model worker, ONNX_THREADS=0).
 */
async function measureSessionLayouts(dtype: ModelDtype, ctx: Context): Promise<SessionLayoutRun> {
  const cpus = usableCpuCount();
  log(`${dtype}: session layouts, 1 session × ${cpus} threads against ${cpus} sessions × 1 thread at once`);
  const input = (threads: number): EngineInput => ({
    modelDir: ctx.modelsDir,
    modelId: MODEL_ID,
    dtype,
    threads,
    batchSizes: SESSION_LAYOUT_BATCH_SIZES,
    secondsPerBatchSize: ctx.d.engineSecondsPerBatch,
  });
  const oneSession = await runChild<EngineResult>(ENGINE_CHILD, input(cpus));
  const parallelSessions = await Promise.all(
    Array.from({ length: cpus }, () => runChild<EngineResult>(ENGINE_CHILD, input(1))),
  );
  for (const [i, { batchSize, sentencesPerSecond, msPerCall }] of oneSession.batches.entries()) {
    const together = parallelSessions.reduce((total, run) => total + run.batches[i].sentencesPerSecond, 0);
    const slowest = Math.max(...parallelSessions.map((run) => run.batches[i].msPerCall));
    log(
      `  batch ${batchSize}: ${sentencesPerSecond.toFixed(1)} sentences/s, ${msPerCall.toFixed(1)} ms/call (1 × ${cpus}) · ` +
        `${together.toFixed(1)} sentences/s, ${slowest.toFixed(1)} ms/call (${cpus} × 1)`,
    );
  }
  return { oneSession, parallelSessions };
}

/**
 * What one model call costs by shape (texts × tokens), on token sequences as the scheduler sends
 * them: the measurement behind BATCH_MAX_TOKENS (docs/PERFORMANCE.md).
 */
async function measureShapes(dtype: ModelDtype, ctx: Context): Promise<EngineResult> {
  log(`${dtype}: model call cost by shape (texts × tokens)`);
  const result = await runChild<EngineResult>(ENGINE_CHILD, {
    modelDir: ctx.modelsDir,
    modelId: MODEL_ID,
    dtype,
    batchSizes: [],
    secondsPerBatchSize: ctx.d.engineSecondsPerBatch / 2,
    shapes: CALL_SHAPES,
  } satisfies EngineInput);
  for (const { texts, tokens, msPerCall, tokensPerSecond } of result.shapes ?? []) {
    log(`  ${texts} × ${tokens}: ${msPerCall.toFixed(1)} ms/call, ${Math.round(tokensPerSecond)} padded tokens/s`);
  }
  return result;
}

/**
 * The closed loops of issue #12 against `baseUrl` (the service or the original): each client
 * sends its next request when the previous is answered, for a fixed time.
 */
async function closedLoops(
  label: string,
  baseUrl: string,
  names: ClosedLoopName[],
  ctx: Context,
  path?: string,
): Promise<ClosedLoopRun[]> {
  const shapes: Record<ClosedLoopName, { clients: number; payload: PayloadOptions | MixedLengthOptions }> = {
    'batch-8x16': { clients: 8, payload: unique(16) },
    'batch-64x16': { clients: 64, payload: unique(16) },
    'mixed-8x4': { clients: 8, payload: mixedLengths },
  };
  const runs: ClosedLoopRun[] = [];
  for (const name of names) {
    const { clients, payload } = shapes[name];
    await waitUntilDrained(baseUrl, path);
    log(`${label}: closed loop ${name}`);
    const summary = await load({
      baseUrl,
      path,
      allowShedding: true,
      durationSeconds: ctx.d.closedLoop,
      connections: clients,
      payload,
      timeoutSeconds: promisedDeadlineMs(ctx.settings.requestTimeoutMs) / 1000 + TIMEOUT_MARGIN_SECONDS,
      countTokens: ctx.tokenizer,
    });
    const textsPerRequest = 'seed' in payload ? payload.textsPerRequest : payload.batchSize;
    runs.push({ name, clients, textsPerRequest, summary });
    log(`  ${Math.round(summary.sentencesPerSecond)} sentences/s served · ${describeStatuses(summary)}`);
  }
  return runs;
}

/** A closed loop only to learn the capacity for a mix, when the scenarios that measure it were left out. */
async function probeCapacity(server: ServerProcess, textsPerRequest: number, ctx: Context): Promise<number> {
  await waitUntilDrained(server.baseUrl);
  const summary = await load({
    baseUrl: server.baseUrl,
    allowShedding: true,
    durationSeconds: ctx.d.miss,
    connections: 8,
    payload: unique(textsPerRequest),
  });
  return summary.sentencesPerSecond;
}

async function paced(
  server: ServerProcess,
  rate: number,
  textsPerRequest: number,
  durationSeconds: number,
  inFlightSeconds: number,
  ctx: Context,
): Promise<RateRun> {
  await waitUntilDrained(server.baseUrl);
  const connections = Math.min(MAX_PACED_CONNECTIONS, Math.ceil(rate * inFlightSeconds));
  const summary = await load({
    baseUrl: server.baseUrl,
    allowShedding: true,
    durationSeconds,
    rate,
    connections,
    payload: unique(textsPerRequest),
    timeoutSeconds: promisedDeadlineMs(ctx.settings.requestTimeoutMs) / 1000 + TIMEOUT_MARGIN_SECONDS,
  });
  return { rate, summary };
}

/** Everything on one server with the in-memory cache and unique texts, then its peak RSS. */
async function measureService(run: DtypeRun, server: ServerProcess, ctx: Context): Promise<void> {
  const { d, only } = ctx;
  const base = { baseUrl: server.baseUrl, allowShedding: true };
  if (only.has('burst')) {
    log(`${run.dtype}: burst of 20 concurrent small requests on the idle service`);
    run.burst = await scenario({ kind: 'burst', baseUrl: server.baseUrl });
    log(`  ${describeStatuses(run.burst.requests)}`);
  }
  if (only.has('misses') || only.has('batch') || only.has('mixed')) {
    await load({ ...base, durationSeconds: d.warmUp, connections: 8, payload: unique(1) });
  }
  if (only.has('misses')) {
    log(`${run.dtype}: (b) cache misses against node dist/main.js`);
    run.misses = [];
    for (const batchSize of MISS_BATCH_SIZES) {
      for (const connections of MISS_CONNECTIONS) {
        await waitUntilDrained(server.baseUrl);
        const summary = await load({ ...base, durationSeconds: d.miss, connections, payload: unique(batchSize) });
        run.misses.push({ connections, batchSize, summary } satisfies MissRun);
        log(
          `  ${batchSize} text(s) × ${connections} conn: ${Math.round(summary.sentencesPerSecond)} sentences/s · ` +
            describeStatuses(summary),
        );
      }
    }
  }
  const names: ClosedLoopName[] = [
    ...(only.has('batch') ? (['batch-8x16', 'batch-64x16'] as const) : []),
    ...(only.has('mixed') ? (['mixed-8x4'] as const) : []),
  ];
  if (names.length > 0) run.closedLoops = await closedLoops(run.dtype, server.baseUrl, names, ctx);

  if (only.has('half-load')) {
    const max = maxOneTextRps(run) || (await probeCapacity(server, 1, ctx));
    log(`${run.dtype}: one text at half the max throughput (${Math.round(max / 2)} req/s)`);
    run.halfLoad = await paced(server, max / 2, 1, d.halfLoad, 1, ctx);
  }
  // The original is measured under closed loops only: the overload runs' thousands of requests in
  // flight get a peak of their own.
  if (run.burst || run.misses || run.closedLoops || run.halfLoad) run.peakRssMB = mb(server.child.pid!);
  if (only.has('overload')) {
    run.overloads = [];
    for (const textsPerRequest of [1, 16]) {
      const capacity =
        (textsPerRequest === 1 ? maxOneTextRps(run) : maxSixteenTextSentences(run)) ||
        (await probeCapacity(server, textsPerRequest, ctx));
      const rate = (2 * capacity) / textsPerRequest;
      log(`${run.dtype}: open loop at 2× capacity, ${textsPerRequest}-text requests (${rate.toFixed(1)} req/s)`);
      const { summary } = await paced(server, rate, textsPerRequest, d.overload, OVERLOAD_IN_FLIGHT_SECONDS, ctx);
      run.overloads.push({
        rate,
        textsPerRequest,
        capacitySentencesPerSecond: capacity,
        summary,
      } satisfies OverloadRun);
      log(`  ${Math.round(summary.sentencesPerSecond)} sentences/s served · ${describeStatuses(summary)}`);
    }
  }
  if (run.overloads) run.overloadPeakRssMB = mb(server.child.pid!);
}

/**
 * Fairness on a server of its own whose deadline (FAIRNESS_TIMEOUT_MS) admits the long request:
 * with the default 30 s the scheduler answers it 413 (it needs ~45 s of fp32 model time), and the
 * one-text requests beside it would have nothing to be starved by.
 */
async function measureFairness(run: DtypeRun, options: BenchServerOptions, ctx: Context): Promise<void> {
  const { d } = ctx;
  const { server } = await startBenchServer(`bench-${run.dtype}-fairness`, {
    ...options,
    extraEnv: { ...options.extraEnv, REQUEST_TIMEOUT_MS: String(FAIRNESS_TIMEOUT_MS) },
  });
  try {
    log(`${run.dtype}: fairness, ${d.fairnessLongTexts} texts of ~512 tokens beside one-text requests`);
    const reset = resetPeakRss(server.child.pid!);
    const result = await scenario<Extract<ScenarioResult, { kind: 'fairness' }>>({
      kind: 'fairness',
      baseUrl: server.baseUrl,
      longTexts: d.fairnessLongTexts,
      limitSeconds: d.longRequestLimit,
      tokenizer: ctx.tokenizer,
    });
    run.fairness = { ...result, peakRssMB: mb(server.child.pid!) };
    if (!reset) log('  could not reset VmHWM: the peak RSS includes the earlier runs');
    log(
      `  long: ${result.long.outcome.status || 'no answer'} after ${(result.long.outcome.ms / 1000).toFixed(1)} s; ` +
        `one-text: ${describeStatuses(result.oneText)}, max ${Math.round(result.oneText.latency.max)} ms`,
    );
  } finally {
    await server.stop();
  }
}

/** The worst input the limits allow, on a fresh server stopped right after (it may still be working). */
async function measureWorstInput(run: DtypeRun, options: BenchServerOptions, ctx: Context): Promise<void> {
  log(`${run.dtype}: worst input, a full MAX_BODY_BYTES body of 512-token texts`);
  const { server } = await startBenchServer(`bench-${run.dtype}-worst`, options);
  try {
    const limitSeconds =
      ctx.d.worstInputLimit || promisedDeadlineMs(ctx.settings.requestTimeoutMs) / 1000 + TIMEOUT_MARGIN_SECONDS;
    const result = await scenario<Extract<ScenarioResult, { kind: 'worst-input' }>>({
      kind: 'worst-input',
      baseUrl: server.baseUrl,
      maxBodyBytes: ctx.settings.maxBodyBytes,
      maxTexts: ctx.settings.maxBatchSize,
      limitSeconds,
      tokenizer: ctx.tokenizer,
    });
    run.worstInput = { ...result, peakRssMB: mb(server.child.pid!) };
    log(
      `  ${result.long.texts} texts, ${Math.round(result.long.bytes / 1000)} kB: ` +
        `${result.long.outcome.status || 'no answer'} after ${(result.long.outcome.ms / 1000).toFixed(1)} s, ` +
        `peak RSS ${Math.round(run.worstInput.peakRssMB)} MB`,
    );
  } finally {
    await server.stop();
  }
}

/**
 * (c): a server with Redis, the repeated one-text body cached first, then only that body; then, on
 * the same server after a pause, the framework's floor (`GET /health/live`) at the same connections.
 */
async function measureCacheHits(server: ServerProcess, d: Durations): Promise<CacheHitRun> {
  const warmedCacheHeader = await fillCache(server.baseUrl, new PayloadGenerator(repeatedBody).pool());
  const spec = {
    baseUrl: server.baseUrl,
    allowShedding: true,
    durationSeconds: d.cacheHits,
    connections: CACHE_HIT_CONNECTIONS,
    payload: repeatedBody,
  };
  const summary = await load(spec);
  await sleep(FLOOR_SETTLE_MS);
  const floor = await load({ ...spec, allowShedding: false, get: '/health/live' });
  return { connections: CACHE_HIT_CONNECTIONS, warmedCacheHeader, summary, floor };
}

const SERVICE_SCENARIOS: Scenario[] = ['burst', 'misses', 'batch', 'mixed', 'half-load', 'overload'];

async function measureDtype(dtype: ModelDtype, ctx: Context): Promise<DtypeRun> {
  const onnx = join(modelFolder(ctx.modelsDir, MODEL_ID), onnxFileName(dtype));
  if (!existsSync(onnx)) {
    return {
      dtype,
      skipped:
        `${onnx} is missing; regenerate the baseline with a generator that writes it ` +
        `(npm run model:baseline -- --preset base --models-dir ${ctx.modelsDir}) and run again`,
    };
  }
  const serverOptions = { modelDir: ctx.modelsDir, modelId: MODEL_ID, dtype, extraEnv: ctx.extraEnv };
  const run: DtypeRun = { dtype };
  if (ctx.only.has('engine')) run.engine = await measureEngine(dtype, ctx);
  if (ctx.only.has('sessions')) run.sessionLayouts = await measureSessionLayouts(dtype, ctx);
  if (ctx.only.has('shapes')) run.callShapes = (await measureShapes(dtype, ctx)).shapes;

  if (SERVICE_SCENARIOS.some((name) => ctx.only.has(name))) {
    const { server, readyMs } = await startBenchServer(`bench-${dtype}`, serverOptions);
    run.readyMs = readyMs;
    try {
      await measureService(run, server, ctx);
    } finally {
      await server.stop();
    }
  }
  if (ctx.only.has('fairness')) await measureFairness(run, serverOptions, ctx);
  if (ctx.only.has('worst-input')) await measureWorstInput(run, serverOptions, ctx);

  if (ctx.only.has('cache-hits')) {
    log(`${dtype}: (c) cache hits with Redis`);
    const redis = await startOwnRedis();
    try {
      const hits = await startBenchServer(`bench-${dtype}-redis`, { ...serverOptions, redisUrl: redis.url });
      try {
        run.cacheHits = await measureCacheHits(hits.server, ctx.d);
      } finally {
        await hits.server.stop();
      }
    } finally {
      await redis.stop();
    }
  }
  return run;
}

/** The FastAPI original on the same workloads: one text × 8, cache hits × 8, 8 × 16, mixed lengths. */
async function measureOriginal(dir: string, ctx: Context): Promise<OriginalRun> {
  const unavailable = originalUnavailable(dir);
  if (unavailable) {
    log(`the FastAPI original is skipped: ${unavailable}`);
    return { skipped: unavailable };
  }
  log(`the FastAPI original (${dir}): starting it with run.sh`);
  const original = await startOriginal(dir);
  const base = { baseUrl: original.baseUrl, path: ORIGINAL_PATH, allowShedding: false };
  const timeoutSeconds = promisedDeadlineMs(ctx.settings.requestTimeoutMs) / 1000 + TIMEOUT_MARGIN_SECONDS;
  try {
    const result: OriginalRun = { readyMs: original.readyMs };
    await load({ ...base, durationSeconds: ctx.d.warmUp, connections: 1, payload: unique(1) });
    await waitUntilDrained(original.baseUrl, ORIGINAL_PATH);
    log('original: one text × 8 conn (cache misses)');
    result.oneText = await load({
      ...base,
      durationSeconds: ctx.d.miss,
      connections: 8,
      payload: unique(1),
      timeoutSeconds,
    });
    log(`  ${Math.round(result.oneText.requestsPerSecond)} req/s · ${describeStatuses(result.oneText)}`);
    await waitUntilDrained(original.baseUrl, ORIGINAL_PATH);
    log('original: cache hits, repeated one-text body × 8 conn');
    const hits = await load({
      ...base,
      durationSeconds: ctx.d.cacheHits,
      connections: CACHE_HIT_CONNECTIONS,
      payload: repeatedBody,
    });
    result.cacheHits = { connections: CACHE_HIT_CONNECTIONS, warmedCacheHeader: null, summary: hits };
    log(`  ${Math.round(hits.requestsPerSecond)} req/s · ${describeStatuses(hits)}`);
    result.closedLoops = await closedLoops(
      'original',
      original.baseUrl,
      ['batch-8x16', 'mixed-8x4'],
      ctx,
      ORIGINAL_PATH,
    );
    result.peakRssMB = mb(original.pid);
    return result;
  } finally {
    await original.stop();
  }
}

function resultPath(quick: boolean, startedAt: Date): string {
  const stamp = resultStamp(startedAt);
  return quick ? join('test-output', 'bench', `${stamp}-quick.json`) : join('bench', 'results', `${stamp}.json`);
}

function parseOnly(value: string | undefined): Set<Scenario> {
  if (value === undefined) return new Set(SCENARIOS);
  const names = value.split(',').map((name) => name.trim());
  const unknown = names.filter((name) => !(SCENARIOS as readonly string[]).includes(name));
  if (unknown.length > 0) throw new Error(`--only takes ${SCENARIOS.join(', ')}; not ${unknown.join(', ')}`);
  return new Set(names as Scenario[]);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      dtypes: { type: 'string', default: 'fp32,q8' },
      'models-dir': { type: 'string', default: './models' },
      'original-dir': { type: 'string', default: '../shared/peers/seed-py' },
      out: { type: 'string' },
      'skip-build': { type: 'boolean', default: false },
      env: { type: 'string', multiple: true, default: [] },
    },
    strict: true,
  });
  const startedAt = new Date();
  const durations = values.quick ? QUICK : FULL;
  const modelsDir = resolve(values['models-dir']);
  const only = parseOnly(values.only);
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
  // The service's settings as the benchmarked servers resolve them (the deadline, the body limit);
  // a bad --env value fails here, before anything starts.
  const settings = loadSettings({ NODE_ENV: 'production', ALLOW_ANONYMOUS: 'true', ...extraEnv });

  if (!values['skip-build']) buildService(log);
  ensureBaseline(modelsDir, 'base', log);
  const machine = describeMachine();
  const cpuAtStart = readCpuTimes();
  const ctx: Context = {
    only,
    d: durations,
    modelsDir,
    settings,
    extraEnv,
    tokenizer: { modelDir: modelsDir, modelId: MODEL_ID },
  };

  // The original first, on a machine the service's runs have not warmed or loaded yet.
  const original: OriginalRun = only.has('original')
    ? await measureOriginal(resolve(values['original-dir']), ctx)
    : { skipped: 'left out (--only)' };
  const runs: DtypeRun[] = [];
  for (const dtype of dtypes) runs.push(await measureDtype(dtype, ctx));

  const targets = checkTargets(runs, original, settings.requestTimeoutMs);
  const table = renderTable(runs, original, targets);
  const targetTable = renderTargets(runs, targets);
  const loadAverageAtEnd = loadavg()[0];
  const stealPercent = Math.round(stealShare(cpuAtStart, readCpuTimes()) * 1000) / 10;
  const machineLine =
    `${machine.cpuModel}, ${machine.usableCpus} usable CPUs (${machine.logicalCpus} logical), ` +
    `${machine.memoryGiB} GiB, ${machine.os}, Node ${machine.node}, onnxruntime-node ${machine.onnxruntimeNode}`;
  const notes = [
    ...runs.filter((run) => run.skipped).map((run) => `${run.dtype} skipped: ${run.skipped}`),
    ...(original.skipped ? [`the FastAPI original skipped: ${original.skipped}`] : []),
    ...(settings.requestTimeoutMs > 0
      ? []
      : ['REQUEST_TIMEOUT_MS is 0 (no deadline): served p99 is checked against the issue’s 30 s']),
    ...runs
      .filter((run) => run.cacheHits && run.cacheHits.warmedCacheHeader !== 'HIT')
      .map(
        (run) =>
          `${run.dtype} (c): the cached body came back with X-Cache ${run.cacheHits?.warmedCacheHeader}, not HIT: ` +
          'those requests were not served from the cache',
      ),
    ...(values.quick
      ? ['--quick: every measurement shortened to a few seconds; a smoke run of the harness, not a result']
      : []),
    ...(stealPercent > STEAL_PERCENT_NOTED
      ? [
          `the host took ${stealPercent} % of this VM's CPU time as steal during the run: every number is low, ` +
            'and ratios between measurements taken at different moments are unreliable',
        ]
      : []),
  ];
  const result = {
    startedAt: startedAt.toISOString(),
    command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
    quick: values.quick,
    scenarios: [...only],
    machine: { ...machine, loadAverageAtEnd, stealPercent },
    model: MODEL_ID,
    serviceEnv: extraEnv,
    serviceSettings: {
      batchMaxTexts: settings.batchMaxTexts,
      batchWindowMs: settings.batchWindowMs,
      batchMaxTokens: settings.batchMaxTokens,
      queueMaxTokens: settings.queueMaxTokens,
      maxConcurrentBatches: settings.maxConcurrentBatches,
      requestTimeoutMs: settings.requestTimeoutMs,
      maxBodyBytes: settings.maxBodyBytes,
      maxBatchSize: settings.maxBatchSize,
    },
    workloads: { mixedLengths, engineTokenBudget: ENGINE_TOKEN_BUDGET, engineMaxTexts: ENGINE_MAX_TEXTS },
    durationsSeconds: durations,
    original,
    runs,
    targets,
    notes,
    table,
    targetTable,
  };

  const out = values.out ?? resultPath(values.quick, startedAt);
  mkdirSync(dirname(out), { recursive: true });
  const json = JSON.stringify(result, null, 2);
  writeFileSync(out, await prettier.format(json, { ...(await prettier.resolveConfig(out)), filepath: out }));

  console.log(table);
  console.log(`\n## Targets (issues #12, #26) on ${machineLine}\n\n${targetTable}`);
  for (const note of notes) console.log(`\nNote: ${note}`);
  console.log(
    `\nLoad average ${machine.loadAverageAtStart.toFixed(2)} at start, ${loadAverageAtEnd.toFixed(2)} at end ` +
      `(well above 0 at start: other work competed and the numbers are low); steal ${stealPercent} % of the CPU time.`,
  );
  console.log(`Written to ${out}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exitCode = 1;
});
