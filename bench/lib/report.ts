import type { ModelDtype } from '../../src/config/settings.js';
import type { EngineResult, ShapeResult } from './engine-child.js';
import { describeStatuses, percent, type LoadSummary } from './load-summary.js';
import type { BurstResult, FairnessResult, WorstInputResult } from './scenario-child.js';

export interface MissRun {
  connections: number;
  batchSize: number;
  summary: LoadSummary;
}

/** Closed loop: `clients` clients, each sending its next request when the previous is answered. */
export type ClosedLoopName = 'batch-8x16' | 'batch-64x16' | 'mixed-8x4';

export interface ClosedLoopRun {
  name: ClosedLoopName;
  clients: number;
  textsPerRequest: number;
  summary: LoadSummary;
}

export interface RateRun {
  /** Requests per second offered. */
  rate: number;
  summary: LoadSummary;
}

/** Open loop at twice the capacity measured for the same mix. */
export interface OverloadRun extends RateRun {
  textsPerRequest: number;
  /** The most sentences/s the closed-loop runs served with this mix. */
  capacitySentencesPerSecond: number;
}

export interface CacheHitRun {
  connections: number;
  /** X-Cache of the repeated body after warming: HIT when the cache works (the original sends none). */
  warmedCacheHeader: string | null;
  summary: LoadSummary;
  /** `GET /health/live` on the same server right after, same connections: the framework's floor. */
  floor?: LoadSummary;
}

export type PeakRss<T> = T & { peakRssMB: number };

/** Everything measured for one model dtype; `skipped` says why nothing was. */
export interface DtypeRun {
  dtype: ModelDtype;
  skipped?: string;
  engine?: EngineResult;
  /** Model-call cost by shape (texts × tokens), the measurement behind BATCH_MAX_TOKENS. */
  callShapes?: ShapeResult[];
  /** One ONNX session with every CPU's thread against one single-threaded session per CPU, side by side. */
  sessionLayouts?: SessionLayoutRun;
  readyMs?: number;
  /** Peak RSS over the ordinary runs: burst, misses, closed loops, half load (as the original is measured). */
  peakRssMB?: number;
  /** Peak RSS up to the end of the overload runs (open loops at 2 × capacity, thousands of requests in flight). */
  overloadPeakRssMB?: number;
  burst?: BurstResult;
  misses?: MissRun[];
  closedLoops?: ClosedLoopRun[];
  halfLoad?: RateRun;
  overloads?: OverloadRun[];
  fairness?: PeakRss<FairnessResult>;
  worstInput?: PeakRss<WorstInputResult>;
  cacheHits?: CacheHitRun;
}

/** Engine sentences/s and ms per call at each batch size, for one session and for sessions run at once. */
export interface SessionLayoutRun {
  oneSession: EngineResult;
  /** Each session's own result; they ran at the same time, so their sentences/s add up. */
  parallelSessions: EngineResult[];
}

/** The FastAPI + PyTorch original measured in the same run (bench/lib/original.ts). */
export interface OriginalRun {
  skipped?: string;
  readyMs?: number;
  peakRssMB?: number;
  /** One text per request, unique, 8 connections. */
  oneText?: LoadSummary;
  cacheHits?: CacheHitRun;
  closedLoops?: ClosedLoopRun[];
}

export interface TargetCheck {
  dtype: ModelDtype;
  target: string;
  measured: string;
  /** null: not measured in this run (a scenario or the original left out). */
  met: boolean | null;
}

/** The goals of issue #12 (and #6's that still stand), checked against one run. */
export const GOALS = {
  servedShare: 0.99,
  batchCeilingRatio: 0.9,
  oneTextVsOriginal: 5,
  overloadServedRatio: 0.9,
  shedP99Ms: 50,
  fairnessOneTextMaxMs: 2000,
  worstInputRssMB: 1024 ** 3 / 1e6,
  ordinaryRssMB: 700,
  cacheHitRps: 7000,
  cacheHitVsOriginal: 3,
  cacheHitVsFloor: 0.8,
  mixedTokenRatio: 0.8,
  paddingEfficiency: 0.8,
  mixedVsOriginal: { fp32: 1, q8: 2 } as Record<ModelDtype, number>,
  halfLoadP99Ms: 250,
  readyMs: 10_000,
  /** Issue #26: every closed-loop shape ≥ this × the engine's ceiling of the same shape. */
  shapeCeilingRatio: 0.9,
  /** Issue #26: mixed lengths (fp32) serve ≥ this × the original's sentences/s, at a p99 no worse. */
  mixedVsOriginalAtP99: 1.5,
};

const ORIGINAL_HITS_TARGET = `cache hits ≥ ${GOALS.cacheHitVsOriginal} × the original`;

export const int = (value: number) => Math.round(value).toLocaleString('en-US');
/** The 1 GiB bounds, each one target text for the check and for the table's verdict. */
const WORST_INPUT_RSS_TARGET = `peak RSS ≤ ${int(GOALS.worstInputRssMB)} MB (1 GiB) under a full MAX_BODY_BYTES body of 512-token texts`;
const OVERLOAD_RSS_TARGET = `peak RSS ≤ ${int(GOALS.worstInputRssMB)} MB (1 GiB) through overload at 2 × capacity`;
export const ms = (value: number) => (value < 10 ? value.toFixed(1) : int(value));
const ratio = (value: number) => (Number.isFinite(value) ? `${value.toFixed(2)} ×` : '—');
const seconds = (milliseconds: number) => `${(milliseconds / 1000).toFixed(1)} s`;

export function bestEngine(run: DtypeRun): number {
  return Math.max(0, ...(run.engine?.batches ?? []).map((batch) => batch.sentencesPerSecond));
}

export function bestService(run: DtypeRun): number {
  return Math.max(0, ...(run.misses ?? []).map((miss) => miss.summary.sentencesPerSecond));
}

function engineBatch(run: DtypeRun, batchSize: number) {
  return run.engine?.batches.find((batch) => batch.batchSize === batchSize);
}

/** The most one-text requests per second the service answered in the closed-loop runs. */
export function maxOneTextRps(run: DtypeRun): number {
  return Math.max(
    0,
    ...(run.misses ?? []).filter((miss) => miss.batchSize === 1).map((miss) => miss.summary.requestsPerSecond),
  );
}

/** The most sentences/s the closed-loop runs of 16-text requests served. */
export function maxSixteenTextSentences(run: DtypeRun): number {
  return Math.max(
    0,
    ...(run.misses ?? []).filter((miss) => miss.batchSize === 16).map((miss) => miss.summary.sentencesPerSecond),
    ...(run.closedLoops ?? [])
      .filter((loop) => loop.textsPerRequest === 16)
      .map((loop) => loop.summary.sentencesPerSecond),
  );
}

function miss(run: DtypeRun, connections: number, batchSize: number): MissRun | undefined {
  return run.misses?.find((m) => m.connections === connections && m.batchSize === batchSize);
}

function loop(runs: { closedLoops?: ClosedLoopRun[] }, name: ClosedLoopName): ClosedLoopRun | undefined {
  return runs.closedLoops?.find((l) => l.name === name);
}

/** The promised deadline: REQUEST_TIMEOUT_MS, or the 30 s when the service sets none. */
export function promisedDeadlineMs(requestTimeoutMs: number): number {
  return requestTimeoutMs > 0 ? requestTimeoutMs : 30_000;
}

function overloadMeasured(run: OverloadRun): string {
  const { summary } = run;
  return (
    `${int(summary.sentencesPerSecond)} sentences/s served = ` +
    `${ratio(summary.sentencesPerSecond / run.capacitySentencesPerSecond)} capacity ` +
    `(${int(run.capacitySentencesPerSecond)}); ${describeStatuses(summary)}; ` +
    `503 p99 ${ms(summary.latency.shed.p99)} ms; served p99 ${ms(summary.latency.served.p99)} ms`
  );
}

export function checkTargets(runs: DtypeRun[], original: OriginalRun, requestTimeoutMs: number): TargetCheck[] {
  const deadlineMs = promisedDeadlineMs(requestTimeoutMs);
  const originalOneText = original.oneText?.requestsPerSecond;
  const originalHits = original.cacheHits?.summary.requestsPerSecond;
  const originalMixedLoop = loop(original, 'mixed-8x4')?.summary;
  const originalMixed = originalMixedLoop?.sentencesPerSecond;
  return runs
    .filter((run) => !run.skipped)
    .flatMap((run) => {
      const checks: TargetCheck[] = [];
      const add = (target: string, measured: string, met: boolean | null) =>
        checks.push({ dtype: run.dtype, target, measured, met });
      const vsOriginal = (ours: number, theirs: number | undefined, goal: number, unit: string, label: string) => {
        if (theirs === undefined) add(label, `${int(ours)} ${unit}; the original not run`, null);
        else if (theirs === 0) add(label, `${int(ours)} ${unit}; the original served none in its window`, null);
        else add(label, `${int(ours)} vs ${int(theirs)} ${unit} = ${ratio(ours / theirs)}`, ours >= goal * theirs);
      };

      const burst = run.burst;
      if (burst) {
        add(
          'burst of 20 concurrent 1–7-text requests on an idle service: all 200',
          `${describeStatuses(burst.requests)}; slowest ${ms(burst.requests.latency.max)} ms`,
          burst.requests.servedShare === 1,
        );
      }

      const batch8 = loop(run, 'batch-8x16');
      if (batch8) {
        add(
          `8 clients × 16 texts: ≥ ${percent(GOALS.servedShare)} of requests 200`,
          describeStatuses(batch8.summary),
          batch8.summary.servedShare >= GOALS.servedShare,
        );
        const ceiling = engineBatch(run, 32)?.sentencesPerSecond;
        const served = batch8.summary.sentencesPerSecond;
        add(
          `8 clients × 16 texts: served sentences/s ≥ ${GOALS.batchCeilingRatio} × engine batch-32 ceiling`,
          ceiling === undefined
            ? `${int(served)} sentences/s; engine not run`
            : `${int(served)} ÷ ${int(ceiling)} = ${ratio(served / ceiling)}`,
          ceiling === undefined ? null : served >= GOALS.batchCeilingRatio * ceiling,
        );
      }
      const batch64 = loop(run, 'batch-64x16');
      if (batch64) {
        add(
          '64 clients × 16 texts: every request 200 (never refused)',
          describeStatuses(batch64.summary),
          batch64.summary.servedShare === 1,
        );
      }

      const at8 = miss(run, 8, 1);
      if (at8) {
        vsOriginal(
          at8.summary.requestsPerSecond,
          originalOneText,
          GOALS.oneTextVsOriginal,
          'req/s',
          `one-text requests at 8 connections ≥ ${GOALS.oneTextVsOriginal} × the original`,
        );
        const ceiling = engineBatch(run, 8)?.sentencesPerSecond;
        const served = at8.summary.sentencesPerSecond;
        add(
          `one-text requests at 8 connections: served ≥ ${GOALS.shapeCeilingRatio} × engine batch-8 ceiling (#26)`,
          ceiling === undefined
            ? `${int(served)} sentences/s; engine not run`
            : `${int(served)} ÷ ${int(ceiling)} = ${ratio(served / ceiling)}`,
          ceiling === undefined ? null : served >= GOALS.shapeCeilingRatio * ceiling,
        );
      }

      for (const overload of run.overloads ?? []) {
        const { summary } = overload;
        const shed = summary.statuses['503'] ?? 0;
        add(
          `open-loop 2× overload, ${overload.textsPerRequest}-text requests: served ≥ ${GOALS.overloadServedRatio} × ` +
            `capacity, only 200/503, 503 p99 < ${GOALS.shedP99Ms} ms, served p99 ≤ ${seconds(deadlineMs)}`,
          overloadMeasured(overload),
          summary.sentencesPerSecond >= GOALS.overloadServedRatio * overload.capacitySentencesPerSecond &&
            summary.errors === 0 &&
            (shed === 0 || summary.latency.shed.p99 < GOALS.shedP99Ms) &&
            summary.latency.served.p99 <= deadlineMs,
        );
      }

      if (run.fairness) {
        const { oneText, long } = run.fairness;
        add(
          `while ${long.texts} texts of ~512 tokens run, one-text requests all 200 within ` +
            `${seconds(GOALS.fairnessOneTextMaxMs)}`,
          `long request ${long.outcome.status || 'no answer'} after ${seconds(long.outcome.ms)}; one-text: ` +
            `${describeStatuses(oneText)}; slowest ${ms(oneText.latency.max)} ms`,
          oneText.requests > 0 && oneText.servedShare === 1 && oneText.latency.max <= GOALS.fairnessOneTextMaxMs,
        );
      }
      if (run.worstInput) {
        add(
          WORST_INPUT_RSS_TARGET,
          `${int(run.worstInput.peakRssMB)} MB`,
          run.worstInput.peakRssMB <= GOALS.worstInputRssMB,
        );
      }
      if (run.overloadPeakRssMB !== undefined) {
        add(OVERLOAD_RSS_TARGET, `${int(run.overloadPeakRssMB)} MB`, run.overloadPeakRssMB <= GOALS.worstInputRssMB);
      }
      if (run.peakRssMB !== undefined) {
        add(
          `peak RSS ≤ ${GOALS.ordinaryRssMB} MB under ordinary load`,
          `${int(run.peakRssMB)} MB`,
          run.peakRssMB <= GOALS.ordinaryRssMB,
        );
        const theirs = original.peakRssMB;
        add(
          'peak RSS under ordinary load ≤ the original’s (#26)',
          theirs === undefined
            ? `${int(run.peakRssMB)} MB; the original not run`
            : `${int(run.peakRssMB)} vs ${int(theirs)} MB`,
          theirs === undefined ? null : run.peakRssMB <= theirs,
        );
      }

      if (run.cacheHits) {
        const rps = run.cacheHits.summary.requestsPerSecond;
        add(
          `one-text cache hits (Redis) at 8 connections ≥ ${int(GOALS.cacheHitRps)} req/s`,
          `${int(rps)} req/s`,
          rps >= GOALS.cacheHitRps,
        );
        vsOriginal(rps, originalHits, GOALS.cacheHitVsOriginal, 'req/s', ORIGINAL_HITS_TARGET);
        const floor = run.cacheHits.floor?.requestsPerSecond;
        if (floor !== undefined) {
          add(
            `cache hits ≥ ${GOALS.cacheHitVsFloor} × the framework floor (GET /health/live, same server)`,
            `${int(rps)} / ${int(floor)} req/s = ${(rps / floor).toFixed(2)} ×`,
            rps >= GOALS.cacheHitVsFloor * floor,
          );
        }
      }

      const mixed = loop(run, 'mixed-8x4');
      if (mixed) {
        const { summary } = mixed;
        add(
          `mixed lengths, 8 clients × 4 texts: ≥ ${percent(GOALS.servedShare)} served`,
          describeStatuses(summary),
          summary.servedShare >= GOALS.servedShare,
        );
        const engineTokens = run.engine?.mixed?.realTokensPerSecond;
        const served = summary.realTokensPerSecond ?? 0;
        add(
          `mixed lengths: served real tokens/s ≥ ${GOALS.mixedTokenRatio} × the engine's on the same texts`,
          engineTokens === undefined
            ? `${int(served)} tokens/s; engine not run`
            : `${int(served)} ÷ ${int(engineTokens)} = ${ratio(served / engineTokens)}`,
          engineTokens === undefined ? null : served >= GOALS.mixedTokenRatio * engineTokens,
        );
        const engineSentences = run.engine?.mixed?.sentencesPerSecond;
        add(
          `mixed lengths: served sentences/s ≥ ${GOALS.shapeCeilingRatio} × the engine's on the same texts (#26)`,
          engineSentences === undefined
            ? `${int(summary.sentencesPerSecond)} sentences/s; engine not run`
            : `${int(summary.sentencesPerSecond)} ÷ ${int(engineSentences)} = ${ratio(summary.sentencesPerSecond / engineSentences)}`,
          engineSentences === undefined
            ? null
            : summary.sentencesPerSecond >= GOALS.shapeCeilingRatio * engineSentences,
        );
        if (run.dtype === 'fp32') {
          const target = `mixed lengths: p99 ≤ the original's, served sentences/s ≥ ${GOALS.mixedVsOriginalAtP99} × it (fp32, #26)`;
          if (!originalMixedLoop) add(target, 'the original not run', null);
          else {
            const p99 = summary.latency.served.p99;
            const theirP99 = originalMixedLoop.latency.served.p99;
            add(
              target,
              `p99 ${int(p99)} vs ${int(theirP99)} ms; ${int(summary.sentencesPerSecond)} vs ` +
                `${int(originalMixedLoop.sentencesPerSecond)} sentences/s = ${ratio(summary.sentencesPerSecond / originalMixedLoop.sentencesPerSecond)}`,
              p99 <= theirP99 &&
                summary.sentencesPerSecond >= GOALS.mixedVsOriginalAtP99 * originalMixedLoop.sentencesPerSecond,
            );
          }
        }
        const padding = summary.model?.paddingEfficiency;
        add(
          `mixed lengths: padding efficiency (real ÷ padded tokens) ≥ ${GOALS.paddingEfficiency}`,
          padding === undefined ? 'the service exposes no token counters' : padding.toFixed(2),
          padding === undefined ? null : padding >= GOALS.paddingEfficiency,
        );
        const goal = GOALS.mixedVsOriginal[run.dtype];
        vsOriginal(
          summary.sentencesPerSecond,
          originalMixed,
          goal,
          'sentences/s',
          `mixed lengths: served sentences/s above the original's (fp32), ≥ ${GOALS.mixedVsOriginal.q8} × it (q8)`,
        );
      }

      if (run.halfLoad) {
        const p99 = run.halfLoad.summary.latency.all.p99;
        add(
          `one-text p99 at half the maximum throughput ≤ ${GOALS.halfLoadP99Ms} ms (#6)`,
          `${ms(p99)} ms at ${int(run.halfLoad.rate)} req/s`,
          run.halfLoad.summary.latency.served.count > 0 &&
            p99 <= GOALS.halfLoadP99Ms &&
            run.halfLoad.summary.errors === 0,
        );
      }
      if (run.readyMs !== undefined) {
        add(`ready ≤ ${seconds(GOALS.readyMs)} after start (#6)`, seconds(run.readyMs), run.readyMs <= GOALS.readyMs);
      }
      return checks;
    });
}

function loadCell(summary: LoadSummary, unit: 'sentences' | 'requests'): string {
  const rate = unit === 'sentences' ? summary.sentencesPerSecond : summary.requestsPerSecond;
  const { p50, p95, p99 } = summary.latency.all;
  const model = summary.model
    ? ` (model ${int(summary.model.sentencesPerSecond)}/s, batch ${summary.model.meanBatchSize.toFixed(1)}, ` +
      `busy ${Math.round(summary.model.busyShare * 100)}%` +
      (summary.model.paddingEfficiency === undefined
        ? ''
        : `, padding efficiency ${summary.model.paddingEfficiency.toFixed(2)}`) +
      ')'
    : '';
  const tokens =
    summary.realTokensPerSecond === undefined ? '' : ` · ${int(summary.realTokensPerSecond)} real tokens/s`;
  return `${int(rate)}${tokens}${model} · ${ms(p50)}/${ms(p95)}/${ms(p99)} ms · ${describeStatuses(summary)}`;
}

/**
 * One Markdown table: a row per measurement, a column per dtype, the original measured in the same
 * run, ours ÷ the original, the target and whether each dtype met it.
 */
export function renderTable(runs: DtypeRun[], original: OriginalRun, targets: TargetCheck[]): string {
  const rows: string[][] = [];
  const verdict = (match: string) =>
    targets
      .filter((check) => check.target.startsWith(match))
      .map((check) => `${check.dtype} ${check.met === null ? 'not measured' : check.met ? 'met' : 'NOT met'}`)
      .join(', ');
  const versus = (ours: (run: DtypeRun) => number | undefined, theirs: number | undefined) =>
    theirs === undefined
      ? ''
      : runs
          .filter((run) => !run.skipped && ours(run) !== undefined)
          .map((run) => `${run.dtype} ${ratio(ours(run)! / theirs)}`)
          .join(', ');
  const row = (
    label: string,
    cell: (run: DtypeRun) => string | undefined,
    originalCell = '',
    versusCell = '',
    target = '',
    met = '',
  ) =>
    rows.push([
      label,
      ...runs.map((run) => (run.skipped ? 'skipped' : (cell(run) ?? '—'))),
      originalCell,
      versusCell,
      target,
      met,
    ]);
  const originalCell = (summary: LoadSummary | undefined, unit: 'sentences' | 'requests') =>
    original.skipped ? 'not run' : summary ? loadCell(summary, unit) : '—';

  for (const batchSize of [1, 8, 32, 64]) {
    row(`(a) engine ceiling, batch ${batchSize}: sentences/s (ms per call)`, (run) => {
      const batch = engineBatch(run, batchSize);
      return batch && `${int(batch.sentencesPerSecond)} (${ms(batch.msPerCall)})`;
    });
  }
  row('(a) engine, mixed-length texts sorted and batched by token budget: real tokens/s · sentences/s', (run) => {
    const mixed = run.engine?.mixed;
    return (
      mixed &&
      `${int(mixed.realTokensPerSecond)} tokens/s · ${int(mixed.sentencesPerSecond)} sentences/s ` +
        `(${mixed.texts} texts in ${mixed.calls} calls of ≤ ${int(mixed.tokenBudget)} padded tokens and ≤ ` +
        `${mixed.maxTexts} texts, padding efficiency ${mixed.paddingEfficiency.toFixed(2)})`
    );
  });
  row(
    'burst: 20 concurrent requests of 1–7 texts on an idle service: requests by status · p50/max',
    (run) =>
      run.burst &&
      `${run.burst.texts} texts · ${describeStatuses(run.burst.requests)} · ` +
        `${ms(run.burst.requests.latency.p50)}/${ms(run.burst.requests.latency.max)} ms`,
    '',
    '',
    'all 200',
    verdict('burst'),
  );
  for (const batchSize of [1, 16]) {
    for (const connections of [1, 8, 32]) {
      const isTarget = batchSize === 1 && connections === 8;
      row(
        `(b) cache misses, ${batchSize} text${batchSize > 1 ? 's' : ''}/request × ${connections} conn: sentences/s (model: sentences/s, mean batch, busy) · p50/p95/p99 · requests by status, served %`,
        (run) => {
          const m = miss(run, connections, batchSize);
          return m && loadCell(m.summary, 'sentences');
        },
        isTarget ? originalCell(original.oneText, 'sentences') : '',
        isTarget
          ? versus((run) => miss(run, 8, 1)?.summary.requestsPerSecond, original.oneText?.requestsPerSecond)
          : '',
        isTarget ? `≥ ${GOALS.oneTextVsOriginal} × the original` : '',
        isTarget ? verdict('one-text requests at 8') : '',
      );
    }
  }
  const loopRow = (name: ClosedLoopName, label: string, target: string, match: string) =>
    row(
      label,
      (run) => {
        const l = loop(run, name);
        return l && loadCell(l.summary, 'sentences');
      },
      name === 'batch-64x16' ? '' : originalCell(loop(original, name)?.summary, 'sentences'),
      versus((run) => loop(run, name)?.summary.sentencesPerSecond, loop(original, name)?.summary.sentencesPerSecond),
      target,
      verdict(match),
    );
  loopRow(
    'batch-8x16',
    'closed loop, 8 clients × 16 texts: served sentences/s (model) · p50/p95/p99 · requests by status, served %',
    `≥ ${percent(GOALS.servedShare)} 200`,
    '8 clients × 16 texts: ≥',
  );
  row(
    'closed loop, 8 clients × 16 texts: served sentences/s ÷ engine batch-32 ceiling',
    (run) => {
      const served = loop(run, 'batch-8x16')?.summary.sentencesPerSecond;
      const ceiling = engineBatch(run, 32)?.sentencesPerSecond;
      return served === undefined || ceiling === undefined ? undefined : ratio(served / ceiling);
    },
    '',
    '',
    `≥ ${GOALS.batchCeilingRatio}`,
    verdict('8 clients × 16 texts: served'),
  );
  loopRow(
    'batch-64x16',
    'closed loop, 64 clients × 16 texts: served sentences/s (model) · p50/p95/p99 · requests by status, served %',
    'every request 200',
    '64 clients',
  );
  loopRow(
    'mixed-8x4',
    'closed loop, 8 clients × 4 texts of 3–400 words (log-uniform): served sentences/s · real tokens/s (model) · p50/p95/p99 · requests by status, served %',
    `≥ ${percent(GOALS.servedShare)} served (padding efficiency and ÷ original: see the targets)`,
    'mixed lengths, 8',
  );
  row(
    'closed loop, mixed lengths: served real tokens/s ÷ engine (token budget, same texts)',
    (run) => {
      const served = loop(run, 'mixed-8x4')?.summary.realTokensPerSecond;
      const engine = run.engine?.mixed?.realTokensPerSecond;
      return served === undefined || engine === undefined ? undefined : ratio(served / engine);
    },
    '',
    '',
    `≥ ${GOALS.mixedTokenRatio}`,
    verdict('mixed lengths: served real'),
  );
  row(
    '(c) cache hits (Redis), one-text repeated body × 8 conn: requests/s (model activity) · p50/p95/p99 · requests by status, served %',
    (run) => run.cacheHits && loadCell(run.cacheHits.summary, 'requests'),
    originalCell(original.cacheHits?.summary, 'requests'),
    versus((run) => run.cacheHits?.summary.requestsPerSecond, original.cacheHits?.summary.requestsPerSecond),
    `≥ ${int(GOALS.cacheHitRps)} req/s; ≥ ${GOALS.cacheHitVsOriginal} × the original`,
    verdict('one-text cache hits') +
      (verdict(ORIGINAL_HITS_TARGET) ? `; ${verdict(ORIGINAL_HITS_TARGET)} (× original)` : ''),
  );
  row(
    "(c') framework floor, GET /health/live × 8 conn on (c)'s server: requests/s · p50/p95/p99 · requests by status",
    (run) => run.cacheHits?.floor && loadCell(run.cacheHits.floor, 'requests'),
    '',
    runs
      .filter((run) => !run.skipped && run.cacheHits?.floor)
      .map(
        (run) =>
          `(c) ÷ floor: ${run.dtype} ${ratio(run.cacheHits!.summary.requestsPerSecond / run.cacheHits!.floor!.requestsPerSecond)}`,
      )
      .join(', '),
    `(c) ≥ ${GOALS.cacheHitVsFloor} × floor`,
    verdict(`cache hits ≥ ${GOALS.cacheHitVsFloor} × the framework floor`),
  );
  row('(d) best (b) sentences/s ÷ best (a)', (run) =>
    run.misses && run.engine ? ratio(bestService(run) / bestEngine(run)) : undefined,
  );
  row(
    'one text at half the max throughput: req/s offered · p50/p95/p99 · requests by status, served %',
    (run) => run.halfLoad && `${int(run.halfLoad.rate)} offered · ${loadCell(run.halfLoad.summary, 'requests')}`,
    '',
    '',
    `p99 ≤ ${GOALS.halfLoadP99Ms} ms`,
    verdict('one-text p99'),
  );
  for (const texts of [1, 16]) {
    row(
      `open loop at 2× capacity, ${texts}-text requests: req/s offered · sent · served sentences/s ÷ capacity · requests by status · 503 p99 · served p99`,
      (run) => {
        const overload = run.overloads?.find((o) => o.textsPerRequest === texts);
        return (
          overload &&
          `${int(overload.rate)} offered · ${int(overload.summary.requests / overload.summary.elapsedSeconds)} sent · ` +
            overloadMeasured(overload)
        );
      },
      '',
      '',
      `≥ ${GOALS.overloadServedRatio} × capacity; only 200/503; 503 p99 < ${GOALS.shedP99Ms} ms; served p99 ≤ the deadline`,
      verdict(`open-loop 2× overload, ${texts}-text`),
    );
  }
  row(
    'fairness: one request of ~512-token texts (status, time) while one client sends one-text requests: their statuses · p50/max · peak RSS',
    (run) => {
      const f = run.fairness;
      return (
        f &&
        `${f.long.texts} × ${f.long.tokensMin}–${f.long.tokensMax} tokens (${int(f.long.bytes / 1000)} kB): ` +
          `${f.long.outcome.status || 'no answer'} after ${seconds(f.long.outcome.ms)} · one-text: ` +
          `${describeStatuses(f.oneText)} · ${ms(f.oneText.latency.p50)}/${ms(f.oneText.latency.max)} ms · ` +
          `peak RSS ${int(f.peakRssMB)} MB`
      );
    },
    '',
    '',
    `one-text all 200 within ${seconds(GOALS.fairnessOneTextMaxMs)}`,
    verdict('while'),
  );
  row(
    'worst input: a full MAX_BODY_BYTES body of 512-token texts: status · time · peak RSS of the server (MB)',
    (run) => {
      const w = run.worstInput;
      return (
        w &&
        `${w.long.texts} × ${w.long.tokensMin}–${w.long.tokensMax} tokens (${int(w.long.bytes / 1000)} kB): ` +
          `${w.long.outcome.status || 'no answer'} after ${seconds(w.long.outcome.ms)} · peak RSS ${int(w.peakRssMB)} MB`
      );
    },
    '',
    '',
    `peak RSS ≤ ${int(GOALS.worstInputRssMB)} MB`,
    verdict(WORST_INPUT_RSS_TARGET),
  );
  row(
    '(e) peak RSS of the server under ordinary load: burst, (b), closed loops, half load (MB)',
    (run) => (run.peakRssMB === undefined ? undefined : int(run.peakRssMB)),
    original.peakRssMB === undefined ? '' : `${int(original.peakRssMB)} (uvicorn)`,
    '',
    `≤ ${GOALS.ordinaryRssMB} MB`,
    verdict(`peak RSS ≤ ${GOALS.ordinaryRssMB}`),
  );
  row(
    '(e) peak RSS of the server through the overload runs (MB)',
    (run) => (run.overloadPeakRssMB === undefined ? undefined : int(run.overloadPeakRssMB)),
    '',
    '',
    `≤ ${int(GOALS.worstInputRssMB)} MB`,
    verdict(OVERLOAD_RSS_TARGET),
  );
  row(
    '(e) spawn → ready (s)',
    (run) => (run.readyMs === undefined ? undefined : (run.readyMs / 1000).toFixed(1)),
    original.readyMs === undefined ? '' : (original.readyMs / 1000).toFixed(1),
    '',
    `≤ ${GOALS.readyMs / 1000} s`,
    verdict('ready'),
  );

  const header = [
    'measurement',
    ...runs.map((run) => run.dtype),
    'FastAPI original',
    'ours ÷ original',
    'target',
    'met',
  ];
  return markdown(header, rows);
}

/** The targets section: one row per target, met / NOT met / not measured with the numbers, per dtype. */
export function renderTargets(runs: DtypeRun[], targets: TargetCheck[]): string {
  const measured = runs.filter((run) => !run.skipped);
  const names = [...new Set(targets.map((check) => check.target))];
  const rows = names.map((name) => [
    name,
    ...measured.map((run) => {
      const check = targets.find((c) => c.target === name && c.dtype === run.dtype);
      if (!check) return '—';
      return `${check.met === null ? 'not measured' : check.met ? 'met' : 'NOT met'}: ${check.measured}`;
    }),
  ]);
  return markdown(['target', ...measured.map((run) => run.dtype)], rows);
}

function markdown(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.map((cell) => cell.replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}
