// Real time: Redis frozen (SIGSTOP) for seconds while the built server's breaker opens, tries and closes on its clock.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from 'redis';
import { SHARED_CONNECTION_NAME } from '../../src/redis/redis-client.js';
import { BREAKER_DEFAULTS } from '../../src/redis/redis-connection.js';
import { scrapeMetrics, sumOf } from '../support/prometheus-text.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { TEST_OUTPUT_DIR } from '../support/paths.js';
import { freshTexts, PREDICT } from '../cache/cache-test-helpers.js';

/** By then the breaker has surely opened: most calls of its sampling window have timed out. */
const SURELY_OPEN_AFTER_MS = BREAKER_DEFAULTS.samplingMs + 1000;
/** Several half-open delays after that, so its trial calls fail too and it re-opens. */
const FREEZE_MS = SURELY_OPEN_AFTER_MS + 3 * BREAKER_DEFAULTS.halfOpenAfterMs;
const HIT_AGAIN_WITHIN_MS = 5000;
const CLIENTS = 2;
const PAUSE_BETWEEN_REQUESTS_MS = 50;

interface Answer {
  sentAt: number;
  doneAt: number;
  status: number;
  cache: string | null;
}

interface Sample {
  at: number;
  breaker: number;
  readyStatus: number;
  cacheStatus: string | undefined;
}

async function predictOnce(baseUrl: string, text: string): Promise<Answer> {
  const sentAt = performance.now();
  const response = await fetch(`${baseUrl}${PREDICT}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ text: [text] }),
  });
  await response.arrayBuffer();
  return { sentAt, doneAt: performance.now(), status: response.status, cache: response.headers.get('x-cache') };
}

async function sampleOnce(baseUrl: string): Promise<Sample> {
  const at = performance.now();
  const breaker = sumOf(await scrapeMetrics(baseUrl), 'sentiment_redis_breaker_state');
  const ready = await fetch(`${baseUrl}/health/ready`);
  const body = (await ready.json()) as { details?: { cache?: { status?: string } } };
  return { at, breaker, readyStatus: ready.status, cacheStatus: body.details?.cache?.status };
}

async function transitions(baseUrl: string): Promise<Record<string, number>> {
  const exposition = await scrapeMetrics(baseUrl);
  const count = (to: string) => sumOf(exposition, 'sentiment_redis_breaker_transitions_total', { to });
  return { closed: count('closed'), 'half-open': count('half-open'), open: count('open') };
}

/** Consecutive repeats removed: [0, 0, 2, 2, 0] → [0, 2, 0]. */
const changes = (values: number[]) => values.filter((value, i) => i === 0 || value !== values[i - 1]);

describe('Redis hung (SIGSTOP) for several half-open delays under light traffic, then thawed', () => {
  let redis: RedisServer;
  let server: ServerProcess;
  const answers: Answer[] = [];
  const samples: Sample[] = [];
  let connectedClients: number;
  let before: Record<string, number>;
  let after: Record<string, number>;
  let freezeAt: number;
  let thawAt: number;
  let firstHitAfterThawMs: number;

  beforeAll(async () => {
    redis = await startRedisServer({ own: true });
    // A limit nobody reaches keeps the rate limiter's counts in Redis, on the same connection.
    server = await startServerProcess('redis-hang', {
      REDIS_URL: redis.url,
      RATE_LIMIT_PER_MINUTE: '1000000',
      CACHE_TIMEOUT_MS: '250',
    });
    const baseUrl = server.baseUrl;
    const pool = freshTexts(8, 'hang');

    let stopped = false;
    const clients = Array.from({ length: CLIENTS }, async (_, c) => {
      for (let i = c; !stopped; i++) {
        answers.push(await predictOnce(baseUrl, pool[i % pool.length]));
        await sleep(PAUSE_BETWEEN_REQUESTS_MS);
      }
    });
    const sampler = (async () => {
      while (!stopped) {
        samples.push(await sampleOnce(baseUrl));
        await sleep(100);
      }
    })();

    try {
      // Warm: every text of the pool cached, and the breaker closed all along.
      const warmUntil = performance.now() + 10_000;
      while (answers.filter((a) => a.cache === 'HIT').length < pool.length && performance.now() < warmUntil) {
        await sleep(100);
      }
      before = await transitions(baseUrl);
      const probe = createClient({ url: redis.url });
      await probe.connect();
      // BullMQ and the job store have connections of their own: count the shared one by its name.
      const clients = (await probe.sendCommand<string>(['CLIENT', 'LIST'])).split('\n');
      connectedClients = clients.filter((line) => line.includes(` name=${SHARED_CONNECTION_NAME} `)).length;
      await probe.disconnect();

      freezeAt = performance.now();
      redis.pause();
      await sleep(FREEZE_MS);
      thawAt = performance.now();
      redis.resume();

      const hitUntil = thawAt + HIT_AGAIN_WITHIN_MS * 2;
      while (!answers.some((a) => a.sentAt > thawAt && a.cache === 'HIT') && performance.now() < hitUntil) {
        await sleep(50);
      }
      const firstHit = answers.find((a) => a.sentAt > thawAt && a.cache === 'HIT');
      firstHitAfterThawMs = firstHit ? firstHit.doneAt - thawAt : Infinity;
      // A little longer, so the last samples show the breaker closed and the cache up.
      await sleep(1000);
    } finally {
      stopped = true;
      redis.resume();
      await Promise.all([...clients, sampler]);
    }
    after = await transitions(baseUrl);
    // What this run measured, for whoever reads a failure (or the numbers) later.
    mkdirSync(TEST_OUTPUT_DIR, { recursive: true });
    const record = { freezeMs: FREEZE_MS, requests: answers.length, firstHitAfterThawMs, transitions: after };
    writeFileSync(join(TEST_OUTPUT_DIR, 'redis-hang.json'), `${JSON.stringify(record, null, 2)}\n`);
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    await redis?.stop();
  });

  it('used one Redis connection for the cache and the rate limiter', () => {
    expect(connectedClients).toBe(1);
  });

  it('served every request (200), from the model (BYPASS) while Redis was hung', () => {
    expect(answers.length).toBeGreaterThan(50);
    expect(answers.filter((a) => a.status !== 200)).toEqual([]);
    const duringFreeze = answers.filter((a) => a.sentAt > freezeAt + SURELY_OPEN_AFTER_MS && a.doneAt < thawAt);
    expect(duringFreeze.length).toBeGreaterThan(10);
    expect(duringFreeze.filter((a) => a.cache !== 'BYPASS')).toEqual([]);
  });

  it(`answered from the cache (HIT) again within ${HIT_AGAIN_WITHIN_MS / 1000} s of the thaw`, () => {
    expect(firstHitAfterThawMs).toBeLessThan(HIT_AGAIN_WITHIN_MS);
  });

  it('moved the breaker closed → open → closed, re-opening on failed half-open trials', () => {
    expect(before).toEqual({ closed: 0, 'half-open': 0, open: 0 });
    const states = changes(samples.map((s) => s.breaker));
    expect(states[0]).toBe(0);
    expect(states).toContain(2);
    expect(states.at(-1)).toBe(0);
    // Only the freeze (and the trial that ends it) had the breaker anything but closed.
    for (const sample of samples.filter((s) => s.breaker !== 0)) {
      expect(sample.at).toBeGreaterThan(freezeAt);
      expect(sample.at).toBeLessThan(thawAt + BREAKER_DEFAULTS.halfOpenAfterMs + 500);
    }
    // The freeze outlasted several half-open delays: trials failed and re-opened it.
    expect(after.open).toBeGreaterThanOrEqual(2);
    expect(after['half-open']).toBeGreaterThanOrEqual(2);
    expect(after.closed).toBe(1);
    // Every trial ended in open or closed; the first open came from closed.
    expect(after['half-open']).toBe(after.open - 1 + after.closed);
  });

  it('logged every breaker state change once', () => {
    const lines = readFileSync(server.logFile, 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { context?: string; breaker?: string })
      .filter((line) => line.context === 'Redis' && line.breaker !== undefined);
    for (const to of ['open', 'half-open', 'closed']) {
      expect(lines.filter((line) => line.breaker === to)).toHaveLength(after[to]);
    }
  });

  it('stayed ready throughout, reporting the cache degraded while the breaker was open', () => {
    expect(samples.filter((s) => s.readyStatus !== 200)).toEqual([]);
    const hung = samples.filter((s) => s.at > freezeAt + SURELY_OPEN_AFTER_MS && s.at < thawAt - 200);
    expect(hung.length).toBeGreaterThan(5);
    expect(hung.map((s) => s.cacheStatus)).toEqual(hung.map(() => 'degraded'));
    expect(samples.at(-1)).toMatchObject({ breaker: 0, cacheStatus: 'up' });
  });
});
