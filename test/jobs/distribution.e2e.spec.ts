import { freshTexts } from '../cache/cache-test-helpers.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { until } from '../support/until.js';
import { JobClient, ndjson } from './job-client.js';

const TEXTS = 20_000;

/** Texts this replica's bulk workers answered, from its own /metrics. */
async function bulkTexts(server: ServerProcess): Promise<number> {
  const metrics = await (await fetch(`${server.baseUrl}/metrics`)).text();
  const match = /^sentiment_job_texts_total (\d+)/m.exec(metrics);
  return match ? Number(match[1]) : 0;
}

describe('jobs across replicas (two built servers sharing a real redis-server)', () => {
  let redis: RedisServer;
  let servers: ServerProcess[];

  beforeAll(async () => {
    redis = await startRedisServer({ own: true });
    const env = { REDIS_URL: redis.url, RATE_LIMIT_ENABLED: 'false' };
    servers = await Promise.all([startServerProcess('jobs-a', env), startServerProcess('jobs-b', env)]);
  });
  afterAll(async () => {
    await Promise.all((servers ?? []).map((server) => server.stop()));
    await redis?.stop();
  });

  it('shares chunks between replicas; a replica SIGKILLed mid-job loses nothing and nothing is answered twice', async () => {
    // One caller (without API keys, one job token) talking to both replicas.
    const token = 'distribution-test-job-token-0123456789';
    const [survivor, victim] = servers.map((server) => new JobClient(server.baseUrl, undefined, token));
    const submitted = await victim.submit(ndjson(freshTexts(TEXTS, 'spread')));
    expect(submitted.status).toBe(202);
    const { id } = (await submitted.json()) as { id: string };

    // Both replicas work on the job before one dies.
    await until(async () => (await bulkTexts(servers[0])) > 0 && (await bulkTexts(servers[1])) > 0, 60_000);
    const before = (await (await survivor.status(id)).json()) as { textsDone: number };
    expect(before.textsDone).toBeLessThan(TEXTS);
    await servers[1].stop(); // SIGKILL, with chunks in hand

    const end = await survivor.waitForEnd(id, 240_000);
    expect(end).toMatchObject({ state: 'completed', textsDone: TEXTS, textsTotal: TEXTS });
    const lines = await survivor.resultLines(id);
    expect(lines.map((line) => line.line)).toEqual(Array.from({ length: TEXTS }, (_, i) => i + 1));
    expect(lines.map((line) => line.id)).toEqual(Array.from({ length: TEXTS }, (_, i) => `r${i}`));
  }, 300_000);
});
