// Real time: a master is SIGKILLed mid-job and the cluster's own failure detection (2 s node timeout) promotes its replica.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import calculateSlot from 'cluster-key-slot';
import { createClient } from 'redis';
import type { Prediction } from '../../src/model/label-scores.js';
import { expectSamePrediction, freshTexts, PREDICT } from '../cache/cache-test-helpers.js';
import { JobClient, ndjson } from '../jobs/job-client.js';
import { startRedisCluster, type RedisCluster } from '../support/redis-cluster.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { until } from '../support/until.js';

const JOB_TEXTS = 1000;
/** Small chunks, one at a time: the job is still running when the master dies. */
const JOB_CHUNK_TEXTS = 10;
/** Texts predicted before the kill and again throughout: cache hits, spread over every master's slots. */
const HOT_TEXTS = 30;
/** The predict loop's bounds. */
const MAX_PREDICTS = 5000;
const MAX_PREDICT_LOOP_MS = 60_000;
const REQUEST_TIMEOUT_MS = 10_000;
const FAILOVER_TIMEOUT_MS = 20_000;
/** The job store's keys (`{sentiment:jobs}:…`) hash to this slot, BullMQ's (`{bull}:…`) to the other. */
const JOB_STORE_SLOT = calculateSlot('{sentiment:jobs}');
const BULLMQ_SLOT = calculateSlot('{bull}');
const JOB_TOKEN = 'redis-cluster-failover-job-token-0123456789';

interface Answer {
  status: number;
  cache?: string;
  /** performance.now() when it was answered. */
  at: number;
  predictions?: Prediction[];
}

/**
 * The built server on a 3-master Redis Cluster with a replica per master: cache, rate limits, job
 * store and BullMQ all on it. The master holding the job store's and BullMQ's slots is killed while
 * a 1,000-text job runs beside one-text predict traffic; its replica takes over its slots.
 */
describe('Redis Cluster: a master killed mid-job fails over to its replica', () => {
  let cluster: RedisCluster;
  let server: ServerProcess;
  let jobs: JobClient;
  /** Ends the predict loop, should the test fail while it runs. */
  let stopLoop = (): Promise<void> => Promise.resolve();

  const predictOne = async (text: string): Promise<Answer> => {
    try {
      const response = await fetch(`${server.baseUrl}${PREDICT}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ text: [text] }),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      const body = (await response.json()) as { predictions?: Prediction[] };
      return {
        status: response.status,
        cache: response.headers.get('x-cache') ?? undefined,
        at: performance.now(),
        predictions: body.predictions,
      };
    } catch {
      // A request that failed or timed out: no status.
      return { status: 0, at: performance.now() };
    }
  };

  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1 });
    server = await startServerProcess('redis-cluster-failover', {
      REDIS_URL: cluster.url,
      REDIS_CLUSTER: 'true',
      JOBS_REDIS_CLUSTER: 'true',
      // On, with a limit never reached: every request still counts in Redis.
      RATE_LIMIT_ENABLED: 'true',
      RATE_LIMIT_PER_MINUTE: '1000000',
      JOB_CHUNK_TEXTS: String(JOB_CHUNK_TEXTS),
      JOB_WORKER_CONCURRENCY: '1',
    });
    jobs = new JobClient(server.baseUrl, undefined, JOB_TOKEN);
  }, 60_000);
  afterAll(async () => {
    await stopLoop();
    await server?.stop();
    await cluster?.stop();
  });

  it('serves every prediction, completes the job with every line once, and caches again after the failover', async () => {
    // The cache connects in the background: a text is answered from it once it is up.
    const [probe] = freshTexts(1, 'probe');
    await until(async () => (await predictOne(probe)).cache === 'HIT', 10_000);
    const hot = freshTexts(HOT_TEXTS, 'hot');
    for (const text of hot) expect((await predictOne(text)).status).toBe(200);

    const texts = freshTexts(JOB_TEXTS, 'job');
    const submitted = await jobs.submit(ndjson(texts));
    expect(submitted.status).toBe(202);
    const { id } = (await submitted.json()) as { id: string };

    // One-text requests until told to stop (or a bound is reached): a hot text, then a new one.
    const answers: Answer[] = [];
    let stop = false;
    const loopStarted = performance.now();
    const loop = (async () => {
      const fresh = freshTexts(MAX_PREDICTS, 'during');
      for (let i = 0; i < MAX_PREDICTS && !stop && performance.now() - loopStarted < MAX_PREDICT_LOOP_MS; i++) {
        answers.push(await predictOne(i % 2 === 0 ? hot[(i / 2) % HOT_TEXTS] : fresh[i]));
      }
    })();
    stopLoop = async () => {
      stop = true;
      await loop;
    };

    const textsDone = async () => ((await (await jobs.status(id)).json()) as { textsDone: number }).textsDone;
    await until(async () => answers.length >= 20 && (await textsDone()) > 0, 20_000);
    const victim = await cluster.masterOf(JOB_STORE_SLOT);
    expect(victim).toBeDefined();
    // The hardest case: BullMQ's slot is on the same master (both in the middle third of the slots).
    expect(await cluster.masterOf(BULLMQ_SLOT)).toBe(victim);
    // node-redis finds the new topology through its seed node (REDIS_URL): it must outlive the failover.
    expect(victim).not.toBe(Number(new URL(cluster.url).port));
    const doneAtKill = await textsDone();
    expect(doneAtKill).toBeLessThan(JOB_TEXTS);
    const answeredBeforeKill = answers.length;
    const killedAt = performance.now();
    await cluster.killMaster(victim);

    // Failed over: another master serves the slot, and every slot is served again.
    const servedElsewhere = async () => ![undefined, victim].includes(await cluster.masterOf(JOB_STORE_SLOT));
    await until(async () => (await servedElsewhere()) && (await cluster.state()) === 'ok', FAILOVER_TIMEOUT_MS);
    const promoted = await cluster.masterOf(JOB_STORE_SLOT);
    const failedOverAt = performance.now();

    // [ms since the kill, texts done], at each change.
    const progress: Array<[number, number]> = [];
    const sampler = setInterval(() => {
      void textsDone().then((done) => {
        if (progress.at(-1)?.[1] !== done) progress.push([Math.round(performance.now() - killedAt), done]);
      });
    }, 250);
    const end = await jobs.waitForEnd(id, 60_000).finally(() => clearInterval(sampler));
    const jobEndedAt = performance.now();
    expect(end).toMatchObject({ state: 'completed', textsDone: JOB_TEXTS, textsTotal: JOB_TEXTS });

    // The cache is back once hot texts are answered from it again: the client follows the failover.
    const recovered = () => {
      const since = answers.filter(({ at }) => at > failedOverAt);
      return since.length >= 2 * HOT_TEXTS && since.slice(-2 * HOT_TEXTS).every(({ cache }) => cache !== 'BYPASS');
    };
    await until(() => recovered() || performance.now() - loopStarted > MAX_PREDICT_LOOP_MS, MAX_PREDICT_LOOP_MS);
    await stopLoop();

    const bypassed = answers.filter(({ cache }) => cache === 'BYPASS');
    const summary = {
      victim,
      promoted,
      textsDoneAtKill: doneAtKill,
      failoverMs: Math.round(failedOverAt - killedAt),
      jobEndedAfterKillMs: Math.round(jobEndedAt - killedAt),
      jobProgress: progress,
      lastBypassAfterKillMs: bypassed.length ? Math.round(bypassed[bypassed.length - 1].at - killedAt) : 0,
      // BYPASS answers per second since the kill.
      bypassBySecond: bypassed.reduce<Record<number, number>>((counts, { at }) => {
        const second = Math.floor((at - killedAt) / 1000);
        return { ...counts, [second]: (counts[second] ?? 0) + 1 };
      }, {}),
      predicts: answers.length,
      predictsBeforeKill: answeredBeforeKill,
      bypass: bypassed.length,
      hit: answers.filter(({ cache }) => cache === 'HIT').length,
      miss: answers.filter(({ cache }) => cache === 'MISS').length,
      loopMs: Math.round(performance.now() - loopStarted),
    };
    console.log(`redis cluster failover: ${JSON.stringify(summary)}`);

    // Every prediction answered: a cache or limiter failure falls back, it never fails a request.
    expect(answers.filter(({ status }) => status !== 200)).toEqual([]);
    expect(answers.every(({ predictions }) => predictions?.length === 1)).toBe(true);
    expect(recovered()).toBe(true);
    // Each hot text from the cache again (a second try, should one lookup time out on a busy machine).
    for (const text of hot) {
      const tries = [await predictOne(text), await predictOne(text)];
      expect([text, tries.some(({ cache }) => cache === 'HIT')]).toEqual([text, true]);
    }

    // Nothing lost: every line once, in order, each answering its own text as the predict route does.
    const lines = await jobs.resultLines(id);
    expect(lines.map(({ line }) => line)).toEqual(texts.map((_, i) => i + 1));
    expect(lines.map((line) => line.id)).toEqual(texts.map((_, i) => `r${i}`));
    for (let from = 0; from < JOB_TEXTS; from += 100) {
      const batch = texts.slice(from, from + 100);
      const response = await fetch(`${server.baseUrl}${PREDICT}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ text: batch }),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      expect(response.status).toBe(200);
      const { predictions } = (await response.json()) as { predictions: Prediction[] };
      predictions.forEach((prediction, i) => expectSamePrediction(lines[from + i].predictions, prediction));
    }

    // The promoted replica holds the job store's and BullMQ's keys; the limiter counted in Redis.
    const keysOn = async (port: number, pattern: string): Promise<string[]> => {
      const client = createClient({ socket: { host: '127.0.0.1', port, reconnectStrategy: false } });
      client.on('error', () => undefined);
      await client.connect();
      try {
        return await client.keys(pattern);
      } finally {
        await client.disconnect();
      }
    };
    expect((await keysOn(promoted!, '{sentiment:jobs}:*')).length).toBeGreaterThan(0);
    expect((await keysOn(promoted!, '{bull}:*')).length).toBeGreaterThan(0);
    const limitKeys = await Promise.all(
      (await cluster.masterPorts()).map((port) => keysOn(port, 'sentiment-api:rate-limit:*')),
    );
    expect(limitKeys.flat().length).toBeGreaterThan(0);
    expect((await fetch(`${server.baseUrl}/health/ready`)).status).toBe(200);
  }, 110_000);
});
