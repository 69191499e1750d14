import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { PayloadGenerator } from '../../k6/lib/payload.js';
import type { ModelDtype } from '../../src/config/settings.js';
import { startRedisServer, type RedisServer } from '../../test/support/redis-server.js';
import { startServerProcess, type ServerProcess } from '../../test/support/server-process.js';
import { readModelCounters } from './model-metrics.js';

export type { ServerProcess };

export interface BenchServer {
  readonly server: ServerProcess;
  /** Milliseconds from spawning `node dist/main.js` to /health/ready answering 200. */
  readonly readyMs: number;
}

export interface BenchServerOptions {
  modelDir: string;
  modelId: string;
  dtype: ModelDtype;
  redisUrl?: string;
  /** Further service settings (environment variables), e.g. to try other batching defaults. */
  extraEnv?: Record<string, string>;
}

/** The built service as production runs it, in its own process: no fallback model, quiet logs. */
export async function startBenchServer(name: string, options: BenchServerOptions): Promise<BenchServer> {
  const started = performance.now();
  const server = await startServerProcess(name, {
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    MODEL_DIR: resolve(options.modelDir),
    MODEL_ID: options.modelId,
    MODEL_DTYPE: options.dtype,
    ALLOW_REMOTE_MODELS: 'false',
    // The bench measures the engine and the service path, not the per-client rate limit, which
    // all its connections from one IP would hit within seconds.
    RATE_LIMIT_ENABLED: 'false',
    // The paced runs open up to MAX_PACED_CONNECTIONS from one address, past the per-IP cap.
    HTTP_MAX_CONNECTIONS_PER_IP: '0',
    // Production refuses to start open or with plain-SHA-256 Redis keys unless told: the bench
    // measures an open service, and its own Redis gets a fresh key secret.
    ALLOW_ANONYMOUS: 'true',
    ...options.extraEnv,
    ...(options.redisUrl ? { REDIS_URL: options.redisUrl, CACHE_KEY_SECRET: randomBytes(32).toString('hex') } : {}),
  });
  return { server, readyMs: performance.now() - started };
}

/**
 * Resets a process's peak resident memory (VmHWM) to its current RSS, so a later peakRssMiB covers
 * only what follows (Linux ≥ 4.0, our own processes). False when the kernel refuses.
 */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** Peak resident memory of a process so far (VmHWM), in MiB; Linux only. */
export function peakRssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = /^VmHWM:\s+(\d+)\s+kB$/m.exec(status);
  if (!kib) throw new Error(`no VmHWM in /proc/${pid}/status`);
  return Number(kib[1]) / 1024;
}

/** Linux's user-space clock tick (USER_HZ), the unit of /proc/<pid>/stat's CPU times. */
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * CPU time a process has used so far, all its threads, user and system, in seconds; Linux only.
 * Unlike throughput, CPU per request hardly moves with what else runs on a shared machine.
 */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces), from field 3: utime and stime are 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

/** A redis-server of the benchmark's own on a free port (never the machine's shared one). */
export function startOwnRedis(): Promise<RedisServer> {
  return startRedisServer({ own: true });
}

/** Texts per request when filling the cache: small enough for any REQUEST_TIMEOUT_MS. */
const WARM_CHUNK = 8;
const WARM_ATTEMPTS = 5;

/** POSTs texts (retrying 503s as Retry-After says) and returns the X-Cache header of the answer. */
async function predictUntilServed(baseUrl: string, texts: string[]): Promise<string | null> {
  for (let attempt = 1; ; attempt++) {
    const response = await fetch(`${baseUrl}/v1/sentiment/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: texts }),
    });
    await response.arrayBuffer();
    if (response.status === 200) return response.headers.get('x-cache');
    if (response.status !== 503 || attempt === WARM_ATTEMPTS) {
      throw new Error(`filling the cache: POST answered ${response.status}`);
    }
    await new Promise((done) => setTimeout(done, Number(response.headers.get('retry-after') ?? 1) * 1000));
  }
}

/**
 * Puts every text in the cache, then asks for the first one again and returns that answer's
 * X-Cache header: HIT when the cache works.
 */
export async function fillCache(baseUrl: string, texts: string[]): Promise<string | null> {
  for (let i = 0; i < texts.length; i += WARM_CHUNK) await predictUntilServed(baseUrl, texts.slice(i, i + WARM_CHUNK));
  return predictUntilServed(baseUrl, texts.slice(0, 1));
}

/** Longest wait for a server to work off what an earlier measurement left in its queue. */
const DRAIN_TIMEOUT_MS = 300_000;

/** The model is idle when it starts no call for this long. */
const IDLE_MS = 300;

/**
 * Waits until the server has worked off its queue, so measurements start from an idle service:
 * a fresh text is answered (behind everything queued, with a first-in-first-out batcher), then,
 * where the service exposes /metrics, no model call starts for IDLE_MS (a scheduler that lets a
 * fresh request overtake queued ones still has them to run). `path`: the route to POST to (the
 * FastAPI original's, which has no metrics and serves one request at a time).
 */
export async function waitUntilDrained(baseUrl: string, path = '/v1/sentiment/predict'): Promise<void> {
  const deadline = performance.now() + DRAIN_TIMEOUT_MS;
  const [text] = new PayloadGenerator({ batchSize: 1, cacheHitRatio: 0, poolSize: 1 }).body().text;
  const response = await fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ text: [text] }),
    signal: AbortSignal.timeout(DRAIN_TIMEOUT_MS),
  });
  await response.arrayBuffer();
  let before = await readModelCounters(baseUrl);
  while (before && performance.now() < deadline) {
    await new Promise((done) => setTimeout(done, IDLE_MS));
    const after = await readModelCounters(baseUrl);
    if (!after || after.calls === before.calls) return;
    before = after;
  }
}
