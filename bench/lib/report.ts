import type { ModelDtype } from '../../src/config/settings.js';
import type { EngineResult } from './engine-child.js';
import { describeStatuses, type LoadSummary } from './load-summary.js';

export interface MissRun {
  connections: number;
  batchSize: number;
  summary: LoadSummary;
}

export interface RateRun {
  /** Requests per second offered. */
  rate: number;
  summary: LoadSummary;
}

export interface CacheHitRun {
  connections: number;
  /** X-Cache of a repeated pool text after warming: HIT when the cache works. */
  warmedCacheHeader: string | null;
  summary: LoadSummary;
}

/** Everything measured for one model dtype; `skipped` says why nothing was. */
export interface DtypeRun {
  dtype: ModelDtype;
  skipped?: string;
  engine?: EngineResult;
  readyMs?: number;
  peakRssMB?: number;
  misses?: MissRun[];
  halfLoad?: RateRun;
  overload?: RateRun;
  cacheHits?: CacheHitRun;
}

export interface TargetCheck {
  dtype: ModelDtype;
  target: string;
  measured: string;
  met: boolean;
}

/** The goals (#6), checked against one run. */
const ONE_TEXT_MISS_RPS_AT_8: Record<ModelDtype, number> = { fp32: 170, q8: 340 };
const CEILING_RATIO = 0.9;
const HALF_LOAD_P99_MS = 250;
const SHED_P99_MS = 50;
const OVERLOAD_SERVED_P99_MS = 1000;
const CACHE_HIT_RPS_AT_8 = 4500;
const PEAK_RSS_MB = 700;
const READY_MS = 10_000;

/** The FastAPI + PyTorch original on the same machine class (issue #6). */
const ORIGINAL = {
  engineBatch32: '≈ 145 sentences/s (batch 32, padded)',
  oneTextAt8: '32–34 req/s, p50 ≈ 240 ms, p99 300–550 ms',
  cacheHitsAt8: '≈ 2,900 req/s',
};

export function bestEngine(run: DtypeRun): number {
  return Math.max(0, ...(run.engine?.batches ?? []).map((batch) => batch.sentencesPerSecond));
}

export function bestService(run: DtypeRun): number {
  return Math.max(0, ...(run.misses ?? []).map((miss) => miss.summary.sentencesPerSecond));
}

/** The most one-text requests per second the service answered in the closed-loop runs. */
export function maxOneTextRps(run: DtypeRun): number {
  return Math.max(
    0,
    ...(run.misses ?? []).filter((miss) => miss.batchSize === 1).map((miss) => miss.summary.requestsPerSecond),
  );
}

function miss(run: DtypeRun, connections: number, batchSize: number): MissRun | undefined {
  return run.misses?.find((m) => m.connections === connections && m.batchSize === batchSize);
}

const int = (value: number) => Math.round(value).toLocaleString('en-US');
const ms = (value: number) => (value < 10 ? value.toFixed(1) : int(value));

function overloadVerdict(summary: LoadSummary): { measured: string; met: boolean } {
  const shed = summary.statuses['503'] ?? 0;
  const met =
    summary.latency.served.count > 0 &&
    summary.errors === 0 &&
    (shed === 0 || summary.latency.shed.p99 < SHED_P99_MS) &&
    summary.latency.served.p99 <= OVERLOAD_SERVED_P99_MS;
  const measured =
    `${describeStatuses(summary)}; 503 p99 ${ms(summary.latency.shed.p99)} ms, ` +
    `served p99 ${ms(summary.latency.served.p99)} ms`;
  return { measured, met };
}

export function checkTargets(runs: DtypeRun[]): TargetCheck[] {
  return runs
    .filter((run) => !run.skipped)
    .flatMap((run) => {
      const checks: TargetCheck[] = [];
      const add = (target: string, measured: string, met: boolean) =>
        checks.push({ dtype: run.dtype, target, measured, met });
      const at8 = miss(run, 8, 1);
      if (at8) {
        const rps = at8.summary.requestsPerSecond;
        add(
          `one-text cache misses at 8 connections ≥ ${ONE_TEXT_MISS_RPS_AT_8[run.dtype]} req/s`,
          `${int(rps)} req/s`,
          rps >= ONE_TEXT_MISS_RPS_AT_8[run.dtype],
        );
      }
      const ratio = bestService(run) / bestEngine(run);
      if (Number.isFinite(ratio)) {
        add(
          `service cache-miss throughput ≥ ${CEILING_RATIO} × engine ceiling`,
          `${ratio.toFixed(2)} ×`,
          ratio >= CEILING_RATIO,
        );
      }
      if (run.halfLoad) {
        const p99 = run.halfLoad.summary.latency.all.p99;
        add(
          `one-text p99 at half the maximum throughput ≤ ${HALF_LOAD_P99_MS} ms`,
          `${ms(p99)} ms at ${int(run.halfLoad.rate)} req/s`,
          run.halfLoad.summary.latency.served.count > 0 && p99 <= HALF_LOAD_P99_MS && run.halfLoad.summary.errors === 0,
        );
      }
      if (run.overload) {
        const { measured, met } = overloadVerdict(run.overload.summary);
        add(`2× overload: only 503s, their p99 < ${SHED_P99_MS} ms, served p99 ≤ 1 s`, measured, met);
      }
      if (run.cacheHits) {
        const rps = run.cacheHits.summary.requestsPerSecond;
        add(
          `cache hits (Redis) at 8 connections ≥ ${int(CACHE_HIT_RPS_AT_8)} req/s`,
          `${int(rps)} req/s`,
          rps >= CACHE_HIT_RPS_AT_8,
        );
      }
      if (run.peakRssMB !== undefined) {
        add(`peak RSS ≤ ${PEAK_RSS_MB} MB`, `${int(run.peakRssMB)} MB`, run.peakRssMB <= PEAK_RSS_MB);
      }
      if (run.readyMs !== undefined) {
        add(
          `ready ≤ ${READY_MS / 1000} s after start`,
          `${(run.readyMs / 1000).toFixed(1)} s`,
          run.readyMs <= READY_MS,
        );
      }
      return checks;
    });
}

function loadCell(summary: LoadSummary, unit: 'sentences' | 'requests'): string {
  const rate = unit === 'sentences' ? summary.sentencesPerSecond : summary.requestsPerSecond;
  const { p50, p95, p99 } = summary.latency.all;
  const model = summary.model
    ? ` (model ${int(summary.model.sentencesPerSecond)}/s, batch ${summary.model.meanBatchSize.toFixed(1)}, ` +
      `busy ${Math.round(summary.model.busyShare * 100)}%)`
    : '';
  return `${int(rate)}${model} · ${ms(p50)}/${ms(p95)}/${ms(p99)} ms · ${describeStatuses(summary)}`;
}

/** One Markdown table: a row per measurement, a column per dtype, the original and the target. */
export function renderTable(runs: DtypeRun[], targets: TargetCheck[]): string {
  const rows: string[][] = [];
  const verdict = (match: string) =>
    targets
      .filter((check) => check.target.startsWith(match))
      .map((check) => `${check.dtype} ${check.met ? 'met' : 'NOT met'}`)
      .join(', ');
  const row = (label: string, cell: (run: DtypeRun) => string | undefined, original = '', target = '', met = '') =>
    rows.push([label, ...runs.map((run) => (run.skipped ? 'skipped' : (cell(run) ?? '—'))), original, target, met]);

  for (const batchSize of [1, 8, 32, 64]) {
    row(
      `(a) engine ceiling, batch ${batchSize}: sentences/s (ms per call)`,
      (run) => {
        const batch = run.engine?.batches.find((b) => b.batchSize === batchSize);
        return batch && `${int(batch.sentencesPerSecond)} (${ms(batch.msPerCall)})`;
      },
      batchSize === 32 ? ORIGINAL.engineBatch32 : '',
    );
  }
  for (const batchSize of [1, 16]) {
    for (const connections of [1, 8, 32]) {
      const isTarget = batchSize === 1 && connections === 8;
      row(
        `(b) cache misses, ${batchSize} text${batchSize > 1 ? 's' : ''}/request × ${connections} conn: sentences/s (model: sentences/s, mean batch, busy) · p50/p95/p99 · requests by status, served %`,
        (run) => {
          const m = miss(run, connections, batchSize);
          return m && loadCell(m.summary, 'sentences');
        },
        isTarget ? ORIGINAL.oneTextAt8 : '',
        isTarget ? `≥ ${ONE_TEXT_MISS_RPS_AT_8.fp32} req/s fp32, ≥ ${ONE_TEXT_MISS_RPS_AT_8.q8} q8` : '',
        isTarget ? verdict('one-text cache misses') : '',
      );
    }
  }
  row(
    '(c) cache hits (Redis), 1 text × 8 conn: requests/s (model activity) · p50/p95/p99 · requests by status, served %',
    (run) => run.cacheHits && loadCell(run.cacheHits.summary, 'requests'),
    ORIGINAL.cacheHitsAt8,
    `≥ ${int(CACHE_HIT_RPS_AT_8)} req/s`,
    verdict('cache hits'),
  );
  row(
    '(d) best (b) sentences/s ÷ best (a)',
    (run) => (run.misses && run.engine ? `${(bestService(run) / bestEngine(run)).toFixed(2)}` : undefined),
    '',
    `≥ ${CEILING_RATIO}`,
    verdict('service cache-miss throughput'),
  );
  row(
    'one text at half the max throughput: req/s offered · p50/p95/p99 · requests by status, served %',
    (run) => run.halfLoad && `${int(run.halfLoad.rate)} offered · ${loadCell(run.halfLoad.summary, 'requests')}`,
    '',
    `p99 ≤ ${HALF_LOAD_P99_MS} ms`,
    verdict('one-text p99'),
  );
  row(
    'one text at 2× the max throughput: requests by status, served % · 503 p99 · served p99',
    (run) => run.overload && `${int(run.overload.rate)} offered · ${overloadVerdict(run.overload.summary).measured}`,
    '',
    `only 503s, p99 < ${SHED_P99_MS} ms; served p99 ≤ 1 s`,
    verdict('2× overload'),
  );
  row(
    '(e) peak RSS of the server (MB)',
    (run) => (run.peakRssMB === undefined ? undefined : int(run.peakRssMB)),
    '',
    `≤ ${PEAK_RSS_MB} MB`,
    verdict('peak RSS'),
  );
  row(
    '(e) spawn → /health/ready 200 (s)',
    (run) => (run.readyMs === undefined ? undefined : (run.readyMs / 1000).toFixed(1)),
    '',
    `≤ ${READY_MS / 1000} s`,
    verdict('ready'),
  );

  const header = ['measurement', ...runs.map((run) => run.dtype), 'FastAPI original', 'target', 'met'];
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}
