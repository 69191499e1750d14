import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runLoad, type LoadSamples } from '../../bench/lib/http-load.js';
import { summarizeLoad, type LoadSummary } from '../../bench/lib/load-summary.js';
import { scrapeMetrics, sumOf } from '../support/prometheus-text.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { TEST_OUTPUT_DIR } from '../support/paths.js';

const LOAD_SECONDS = 60;
/** Each outage: Redis killed (SIGKILL, as a crashed pod) and started again, empty, this much later. */
const OUTAGE_MS = 5000;
const OUTAGES_AT_MS = [10_000, 32_000];
const RESUME_WITHIN_MS = 10_000;
const PAYLOAD = { batchSize: 1, cacheHitRatio: 0.5, poolSize: 100 };

async function cacheCounters(baseUrl: string): Promise<{ hit: number; unavailable: number }> {
  const exposition = await scrapeMetrics(baseUrl);
  const count = (result: string) => sumOf(exposition, 'sentiment_cache_requests_total', { result });
  return { hit: count('hit'), unavailable: count('bypass') + count('error') };
}

/** Asks for one new text until the answer comes from the cache; returns how long that took. */
async function untilCached(baseUrl: string): Promise<number> {
  const text = `chaos probe ${randomBytes(6).toString('hex')} was lovely`;
  const started = performance.now();
  for (;;) {
    const response = await fetch(`${baseUrl}/v1/sentiment/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: [text] }),
    });
    await response.arrayBuffer();
    expect(response.status).toBe(200);
    const elapsed = performance.now() - started;
    if (response.headers.get('x-cache') === 'HIT') return elapsed;
    if (elapsed > RESUME_WITHIN_MS) return elapsed;
    await sleep(100);
  }
}

interface Outage {
  /** Bypassed or failed cache lookups while Redis was down. */
  lookupsWithoutRedis: number;
  resumedAfterMs: number;
}

/** Kills Redis at each planned time, restarts it OUTAGE_MS later and waits for caching to resume. */
async function outages(baseUrl: string, redis: RedisServer, started: number): Promise<Outage[]> {
  const seen: Outage[] = [];
  for (const at of OUTAGES_AT_MS) {
    await sleep(at - (performance.now() - started));
    const before = await cacheCounters(baseUrl);
    await redis.kill();
    await sleep(OUTAGE_MS);
    const during = await cacheCounters(baseUrl);
    await redis.restart();
    seen.push({
      lookupsWithoutRedis: during.unavailable - before.unavailable,
      resumedAfterMs: await untilCached(baseUrl),
    });
  }
  return seen;
}

describe(`Redis killed and restarted twice during ${LOAD_SECONDS} s of load at half capacity`, () => {
  let redis: RedisServer;
  let server: ServerProcess;
  let capacity: number;
  let load: LoadSummary;
  let seen: Outage[];
  let hitsAtEnd: number;
  let hitsAfterLastRestart: number;

  beforeAll(
    async () => {
      redis = await startRedisServer({ own: true });
      // The rate limiter keeps its counters in the same Redis: a limit nobody reaches keeps it in play.
      server = await startServerProcess('chaos-redis', { REDIS_URL: redis.url, RATE_LIMIT_PER_MINUTE: '1000000' });
      const baseUrl = server.baseUrl;
      // Capacity: as many uncached one-text requests as the service answers with 8 in flight.
      const closedLoop = await runLoad({
        baseUrl,
        durationSeconds: 5,
        connections: 8,
        payload: { ...PAYLOAD, cacheHitRatio: 0 },
        allowShedding: false,
      });
      capacity = summarizeLoad(closedLoop).requestsPerSecond;

      const started = performance.now();
      const loaded: Promise<LoadSamples> = runLoad({
        baseUrl,
        durationSeconds: LOAD_SECONDS,
        connections: 32,
        rate: capacity / 2,
        payload: PAYLOAD,
        allowShedding: false,
      });
      seen = await outages(baseUrl, redis, started);
      hitsAfterLastRestart = (await cacheCounters(baseUrl)).hit;
      load = summarizeLoad(await loaded);
      hitsAtEnd = (await cacheCounters(baseUrl)).hit;
      // What this run measured, for whoever reads a failure (or the numbers) later.
      mkdirSync(TEST_OUTPUT_DIR, { recursive: true });
      const record = { capacity, rate: capacity / 2, outages: seen, load };
      writeFileSync(join(TEST_OUTPUT_DIR, 'chaos-redis-outage.json'), `${JSON.stringify(record, null, 2)}\n`);
    },
    (LOAD_SECONDS + 60) * 1000,
  );
  afterAll(async () => {
    await server?.stop();
    await redis?.stop();
  });

  it('ran the planned load', () => {
    expect(capacity).toBeGreaterThan(20);
    const requests = Object.values(load.statuses).reduce((total, count) => total + count, 0);
    expect(requests).toBeGreaterThan(((capacity / 2) * LOAD_SECONDS) / 2);
  });

  it('failed no request: every answer a 200 with one prediction per text', () => {
    expect(load.noAnswer).toBe(0);
    expect(load.statuses).toEqual({ 200: expect.any(Number) });
    expect(load.checks.failed).toBe(0);
  });

  it('went without Redis during each outage, and cached again within 10 s of each restart', () => {
    expect(seen).toHaveLength(OUTAGES_AT_MS.length);
    for (const outage of seen) {
      expect(outage.lookupsWithoutRedis).toBeGreaterThan(0);
      expect(outage.resumedAfterMs).toBeLessThan(RESUME_WITHIN_MS);
    }
  });

  it('kept serving the load from the cache after the last restart', () => {
    expect(hitsAtEnd).toBeGreaterThan(hitsAfterLastRestart);
  });
});
