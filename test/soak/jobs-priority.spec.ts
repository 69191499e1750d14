// Real time: it compares interactive latencies measured a minute apart, which other suites' load would skew.
import { freshTexts } from '../cache/cache-test-helpers.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { JobClient, ndjson } from '../jobs/job-client.js';

const WARM_UP = 300;
/**
 * Each p99 is the 10th-slowest of these: with 300 it was the 3rd, and one scheduling hiccup on a busy
 * machine (CI beside a CPU hog) moved the idle figure enough to flip the ratio either way.
 */
const SAMPLES = 1000;
/** Enough bulk work to outlast the busy measurement (about 20 s of one-text requests). */
const JOB_TEXTS = 200_000;
/** Generous for a shared test machine; the bench measures the real ratio (issue: within 1.5×). */
const ALLOWED_RATIO = 3;

function p99(latencies: number[]): number {
  const sorted = [...latencies].sort((a, b) => a - b);
  return sorted[Math.ceil(sorted.length * 0.99) - 1];
}

/** One-text interactive requests, one after another, each a text nobody sent before (no cache hit). */
async function interactiveLatencies(client: JobClient, label: string, count = SAMPLES): Promise<number[]> {
  const latencies: number[] = [];
  for (const text of freshTexts(count, label)) {
    const started = performance.now();
    await client.predict([text]);
    latencies.push(performance.now() - started);
  }
  return latencies;
}

describe('bulk work does not hurt interactive latency (built server, real redis-server)', () => {
  let redis: RedisServer;
  let server: ServerProcess;

  beforeAll(async () => {
    redis = await startRedisServer();
    server = await startServerProcess('jobs-priority', { REDIS_URL: redis.url, RATE_LIMIT_ENABLED: 'false' });
  });
  afterAll(async () => {
    await server?.stop();
    await redis?.stop();
  });

  it(`keeps one-text requests' p99 within ${ALLOWED_RATIO}× of idle while a large job runs`, async () => {
    const client = new JobClient(server.baseUrl);
    await interactiveLatencies(client, 'warm-up', WARM_UP);
    const idle = p99(await interactiveLatencies(client, 'idle'));

    const { id } = (await (await client.submit(ndjson(freshTexts(JOB_TEXTS, 'background')))).json()) as { id: string };
    const busy = p99(await interactiveLatencies(client, 'busy'));
    const status = (await (await client.status(id)).json()) as { state: string; textsDone: number };
    await client.cancel(id);

    // The job ran throughout the measurement: bulk work really competed for the model.
    expect(status.state).toBe('running');
    expect(status.textsDone).toBeGreaterThan(0);
    process.stdout.write(
      `interactive p99: idle ${idle.toFixed(1)} ms, during job ${busy.toFixed(1)} ms (×${(busy / idle).toFixed(2)})\n`,
    );
    expect(busy).toBeLessThanOrEqual(idle * ALLOWED_RATIO);
  }, 300_000);
});
