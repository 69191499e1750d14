import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TEST_OUTPUT_DIR } from '../support/paths.js';
import { scrapeMetrics, sumOf } from '../support/prometheus-text.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { until } from '../support/until.js';
import { DETECTION_BOUND_MS, HEALTH_CHECK, startLoadBalancer, type LoadBalancer } from './haproxy.js';
import { failedRequests, startSteadyLoad, type LoadReport } from './load-report.js';
import {
  createNetwork,
  healPartition,
  partitionFromRedis,
  REDIS_ADDRESS,
  removeLeftovers,
  SUBNET,
  type ReplicaNetwork,
} from './network.js';
import { Replica, REPLICA_PORT } from './replicas.js';

const REPLICAS = 3;
/** Requests per second through HAProxy, from test/cluster/steady-load.ts. */
const RATE = 30;
/** Longer than HAProxy needs to see a replica's readiness turn 503, so it is out before it closes. */
const DRAIN_MS = 3000;
/** The rate limit of the shared-state checks: one key's budget per minute, over all replicas. */
const SHARED_BUDGET = 6;
const API_KEYS = ['cluster-cache-key-0123456789', 'cluster-limit-key-0123456789'];

const BREAKER_STATE = 'sentiment_redis_breaker_state';
const BREAKER_TRANSITIONS = 'sentiment_redis_breaker_transitions_total';
const BREAKER_VALUE = { closed: 0, 'half-open': 1, open: 2 } as const;

/** What this run measured; written to test-output/cluster-results.json and printed at the end. */
const results: Record<string, unknown> = {};

async function predict(
  replica: Replica,
  text: string,
  apiKey?: string,
): Promise<{ status: number; cache: string | null; remaining: string | null }> {
  const response = await fetch(`${replica.baseUrl}/v1/sentiment/predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(apiKey && { authorization: `Bearer ${apiKey}` }) },
    body: JSON.stringify({ text: [text] }),
  });
  await response.arrayBuffer();
  return {
    status: response.status,
    cache: response.headers.get('x-cache'),
    remaining: response.headers.get('ratelimit-remaining'),
  };
}

async function breaker(replica: Replica): Promise<{ state: number; entered: Record<string, number> }> {
  const exposition = await scrapeMetrics(replica.baseUrl);
  const entered = Object.fromEntries(
    Object.keys(BREAKER_VALUE).map((to) => [to, sumOf(exposition, BREAKER_TRANSITIONS, { to })]),
  );
  return { state: sumOf(exposition, BREAKER_STATE), entered };
}

function newText(): string {
  return `cluster probe ${randomBytes(6).toString('hex')} was lovely`;
}

/** The report without the list of failures (its count stays). */
function summary(report: LoadReport): Omit<LoadReport, 'failures'> & { failed: number } {
  const { failures: _listed, ...counts } = report;
  return { ...counts, failed: failedRequests(report) };
}

function wholeMilliseconds(timeline: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(timeline).map(([what, ms]) => [what, Math.round(ms)]));
}

function replicasOn(replicas: readonly ReplicaNetwork[], env: Record<string, string>, phase: string): Replica[] {
  return replicas.map((replicaNetwork, index) => new Replica(`r${index + 1}`, replicaNetwork, env, phase));
}

describe(`A cluster on one machine: ${REPLICAS} replicas in network namespaces (${SUBNET}.0/24), one Redis, HAProxy`, () => {
  let networks: ReplicaNetwork[];
  let redis: RedisServer;
  let replicas: Replica[] = [];
  let environment: Record<string, string>;

  beforeAll(async () => {
    if (process.getuid?.() !== 0) throw new Error('the cluster test creates network namespaces: run it as root');
    removeLeftovers();
    networks = createNetwork(REPLICAS);
    redis = await startRedisServer({ own: true, host: REDIS_ADDRESS });
    environment = {
      REDIS_URL: redis.url,
      SHUTDOWN_DRAIN_MS: String(DRAIN_MS),
      // Three replicas, the load and HAProxy share two cores: one ONNX Runtime thread each.
      ONNX_THREADS: '1',
    };
  });

  afterAll(async () => {
    await Promise.all(replicas.map((replica) => replica.stop()));
    await redis?.stop();
    removeLeftovers();
    mkdirSync(TEST_OUTPUT_DIR, { recursive: true });
    const file = join(TEST_OUTPUT_DIR, 'cluster-results.json');
    writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
    process.stdout.write(`\nCluster results (${file}):\n${JSON.stringify(results, null, 2)}\n`);
  });

  describe(`shared through Redis (API keys, a budget of ${SHARED_BUDGET} requests a minute per key)`, () => {
    beforeAll(async () => {
      replicas = replicasOn(
        networks,
        {
          ...environment,
          API_KEYS: API_KEYS.join(','),
          RATE_LIMIT_PER_MINUTE: String(SHARED_BUDGET),
        },
        'shared',
      );
      await Promise.all(replicas.map((replica) => replica.start()));
    });
    afterAll(async () => {
      await Promise.all(replicas.map((replica) => replica.stop()));
    });

    it('a text cached through replica 1 is a HIT through replicas 2 and 3', async () => {
      const text = newText();
      const [first, second, third] = replicas;
      expect(await predict(first, text, API_KEYS[0])).toMatchObject({ status: 200, cache: 'MISS' });
      expect(await predict(second, text, API_KEYS[0])).toMatchObject({ status: 200, cache: 'HIT' });
      expect(await predict(third, text, API_KEYS[0])).toMatchObject({ status: 200, cache: 'HIT' });
    });

    it('spends one key’s budget across the replicas: each saw a third of it, all refuse past it', async () => {
      const answers = [];
      for (let sent = 0; sent < SHARED_BUDGET; sent += 1) {
        answers.push(await predict(replicas[sent % REPLICAS], newText(), API_KEYS[1]));
      }
      expect(answers.map(({ status }) => status)).toEqual(Array(SHARED_BUDGET).fill(200));
      expect(answers.map(({ remaining }) => Number(remaining))).toEqual(
        Array.from({ length: SHARED_BUDGET }, (_, index) => SHARED_BUDGET - index - 1),
      );
      for (const replica of replicas) expect((await predict(replica, newText(), API_KEYS[1])).status).toBe(429);
      // The other key's budget is its own.
      expect((await predict(replicas[0], newText(), API_KEYS[0])).status).toBe(200);
      results.sharedRateLimit = { budget: SHARED_BUDGET, remainingSeen: answers.map(({ remaining }) => remaining) };
    });
  });

  describe(`under steady load through HAProxy (${RATE} requests/s from a separate process)`, () => {
    let balancer: LoadBalancer;

    beforeAll(async () => {
      replicas = replicasOn(networks, { ...environment, RATE_LIMIT_PER_MINUTE: '1000000' }, 'load');
      await Promise.all(replicas.map((replica) => replica.start()));
      balancer = await startLoadBalancer(
        replicas.map((replica) => ({ name: replica.name, address: replica.network.address, port: REPLICA_PORT })),
      );
      results.balancer = {
        healthCheck: HEALTH_CHECK,
        detectionBoundMs: DETECTION_BOUND_MS,
        drainMs: DRAIN_MS,
        rate: RATE,
      };
    });
    afterAll(async () => {
      await balancer?.stop();
    });

    it('rolling restart (SIGTERM, back ready, next) loses zero requests', async () => {
      const load = await startSteadyLoad(balancer.baseUrl, { rate: RATE, maxSeconds: 90 });
      const restarts = [];
      try {
        await sleep(1500);
        for (const replica of replicas) {
          const started = performance.now();
          const exited = replica.signal('SIGTERM');
          const outOfRotationMs = await balancer.untilServer(replica.name, 'DOWN', DRAIN_MS);
          const exit = await exited;
          await replica.start();
          await balancer.untilServer(replica.name, 'UP', 10_000);
          restarts.push({
            replica: replica.name,
            outOfRotationMs: Math.round(outOfRotationMs),
            exitCode: exit.code,
            backInRotationAfterMs: Math.round(performance.now() - started),
          });
        }
        await sleep(1500);
      } finally {
        const report = await load.stop();
        results.rollingRestart = { restarts, load: summary(report) };
        expect(report.failures).toEqual([]);
        expect(failedRequests(report)).toBe(0);
        expect(report.sent).toBeGreaterThan(RATE * 10);
      }
      // Each replica left the rotation while it was still serving, and exited cleanly.
      for (const restart of restarts) {
        expect(restart.outOfRotationMs).toBeLessThan(DRAIN_MS);
        expect(restart.exitCode).toBe(0);
      }
    });

    it('SIGKILL of one replica: few failures, and none once HAProxy has taken it out', async () => {
      const victim = replicas[1];
      const load = await startSteadyLoad(balancer.baseUrl, { rate: RATE, maxSeconds: 60 });
      let report: LoadReport;
      let detectedAfterMs: number;
      let detectedAt: number;
      let sentAfterDetection: number;
      let killedAt = 0;
      try {
        await sleep(1500);
        killedAt = Date.now();
        void victim.signal('SIGKILL');
        detectedAfterMs = await balancer.untilServer(victim.name, 'DOWN', 10_000);
        detectedAt = Date.now();
        const sessionsAtDetection = (await balancer.stats()).get(victim.name)!.sessions;
        await sleep(3000);
        sentAfterDetection = (await balancer.stats()).get(victim.name)!.sessions - sessionsAtDetection;
      } finally {
        report = await load.stop();
      }
      await victim.start();
      await balancer.untilServer(victim.name, 'UP', 10_000);

      // Every request HAProxy could still send to it: the whole rate, for the longest detection.
      const bound = Math.ceil((RATE * DETECTION_BOUND_MS) / 1000);
      const failed = failedRequests(report);
      const failedAfterDetection = report.failures.filter(({ sentAt }) => sentAt > detectedAt);
      results.sigkill = {
        replica: victim.name,
        detectedAfterMs: Math.round(detectedAfterMs),
        failed,
        failureBound: bound,
        failedAfterDetection: failedAfterDetection.length,
        sentToItAfterDetection: sentAfterDetection,
        failures: report.failures.map(({ sentAt, what }) => ({ sentAfterKillMs: sentAt - killedAt, what })),
        load: summary(report),
      };
      expect(detectedAfterMs).toBeLessThanOrEqual(DETECTION_BOUND_MS);
      expect(sentAfterDetection).toBe(0);
      expect(failedAfterDetection).toEqual([]);
      expect(failed).toBeLessThanOrEqual(bound);
    });

    it('Redis killed and restarted under load: zero failed requests, caching back after', async () => {
      const load = await startSteadyLoad(balancer.baseUrl, { rate: RATE, maxSeconds: 60 });
      let report: LoadReport;
      const timeline: Record<string, number> = {};
      try {
        await sleep(1500);
        await redis.kill();
        await sleep(3000);
        await redis.restart();
        const restarted = performance.now();
        // Every replica reconnects: a text stored through one is a HIT through the next.
        for (const [index, replica] of replicas.entries()) {
          const next = replicas[(index + 1) % REPLICAS];
          await until(async () => {
            const text = newText();
            return (await predict(replica, text)).cache === 'MISS' && (await predict(next, text)).cache === 'HIT';
          }, 15_000);
        }
        timeline.cachingBackAfterMs = performance.now() - restarted;
        await sleep(1000);
      } finally {
        report = await load.stop();
      }
      results.redisRestart = {
        outageMs: 3000,
        ...wholeMilliseconds(timeline),
        load: summary(report),
      };
      expect(report.failures).toEqual([]);
      expect(failedRequests(report)).toBe(0);
      // The outage was seen: answers served from the model without the cache.
      expect(report.cache.BYPASS).toBeGreaterThan(0);
    });

    it('a replica cut off from Redis serves with BYPASS, its breaker opens, tries, closes, and it rejoins', async () => {
      const [cut, other, ...rest] = replicas;
      const load = await startSteadyLoad(balancer.baseUrl, { rate: RATE, maxSeconds: 90 });
      let report: LoadReport;
      const timeline: Record<string, number> = {};
      const before = await breaker(cut);
      const othersBefore = await Promise.all([other, ...rest].map(breaker));
      let during: { status: number; cache: string | null };
      try {
        await sleep(1500);
        expect(before.state).toBe(BREAKER_VALUE.closed);
        partitionFromRedis(cut.network);
        const cutAt = performance.now();
        await until(async () => (await breaker(cut)).state === BREAKER_VALUE.open, 10_000);
        timeline.openAfterMs = performance.now() - cutAt;
        during = await predict(cut, newText());
        // A trial call (half-open) goes to Redis, times out, and the breaker opens again.
        await until(async () => {
          const now = await breaker(cut);
          return now.entered['half-open'] > before.entered['half-open'] && now.entered.open >= before.entered.open + 2;
        }, 10_000);
        timeline.failedTrialAfterMs = performance.now() - cutAt;
        healPartition(cut.network);
        const healedAt = performance.now();
        await until(async () => (await breaker(cut)).state === BREAKER_VALUE.closed, 30_000);
        timeline.closedAfterHealMs = performance.now() - healedAt;
        // Rejoined: it reads what another replica cached, and what it caches the others read.
        const fromOther = newText();
        await predict(other, fromOther);
        expect((await predict(cut, fromOther)).cache).toBe('HIT');
        let fromCut = '';
        await until(async () => {
          fromCut = newText();
          return (await predict(cut, fromCut)).cache === 'MISS';
        }, 5000);
        expect((await predict(other, fromCut)).cache).toBe('HIT');
        await sleep(1000);
      } finally {
        healPartitionQuietly(cut.network);
        report = await load.stop();
      }
      const after = await breaker(cut);
      const othersAfter = await Promise.all([other, ...rest].map(breaker));
      const entered = Object.fromEntries(
        Object.entries(after.entered).map(([state, count]) => [state, count - before.entered[state]]),
      );
      results.partition = {
        replica: cut.name,
        ...wholeMilliseconds(timeline),
        breakerEntered: entered,
        load: summary(report),
      };
      expect(during!).toEqual(expect.objectContaining({ status: 200, cache: 'BYPASS' }));
      expect(entered.open).toBeGreaterThanOrEqual(2);
      expect(entered['half-open']).toBeGreaterThanOrEqual(2);
      expect(entered.closed).toBeGreaterThanOrEqual(1);
      expect(after.state).toBe(BREAKER_VALUE.closed);
      // The other replicas kept Redis all along.
      expect(othersAfter.map(({ entered }) => entered)).toEqual(othersBefore.map(({ entered }) => entered));
      expect(report.failures).toEqual([]);
      expect(failedRequests(report)).toBe(0);
      expect(report.cache.BYPASS).toBeGreaterThan(0);
    });
  });
});

/** Heals unless already healed (the test failed before it did). */
function healPartitionQuietly(replica: ReplicaNetwork): void {
  try {
    healPartition(replica);
  } catch {
    // No partition route left: healed already.
  }
}
