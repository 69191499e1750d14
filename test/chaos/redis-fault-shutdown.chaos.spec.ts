// Real time: the exit is timed against the drain + 10 s promise, with Redis killed, frozen, restarted or cut off.
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, startRedisServer, type RedisServer } from '../support/redis-server.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import {
  createNetwork,
  healPartition,
  partitionFromRedis,
  REDIS_ADDRESS,
  removeLeftovers,
  type ReplicaNetwork,
} from '../cluster/network.js';
import { JobClient, ndjson } from '../jobs/job-client.js';

const DRAIN_MS = 1000;
/** The promise of the shutdown (docs/OPERATING.md#shutdown): exit within the drain + 10 s. */
const EXIT_WITHIN_MS = DRAIN_MS + 10_000;
/** Enough texts that the job is still being worked on when the fault and SIGTERM come. */
const JOB_TEXTS = 60_000;

type Fault = 'killed' | 'frozen' | 'restarted' | 'partitioned';

/**
 * The built server (as in production) with jobs on, a job running, then Redis in one of the four
 * states a rolling deploy during an outage meets, then SIGTERM. The partition needs a network
 * namespace (root); each case waits out a real drain.
 */
describe('SIGTERM ends the process within drain + 10 s whatever Redis does', () => {
  let network: ReplicaNetwork;
  let redis: RedisServer | undefined;
  let server: ServerProcess | undefined;

  beforeAll(() => {
    removeLeftovers();
    [network] = createNetwork(1);
  });
  afterEach(async () => {
    await server?.stop();
    redis?.resume();
    await redis?.stop();
    server = redis = undefined;
  });
  afterAll(() => removeLeftovers());

  async function jobRunning(): Promise<void> {
    redis = await startRedisServer({ own: true, host: REDIS_ADDRESS });
    server = await startServerProcess(
      'redis-fault-shutdown',
      { REDIS_URL: redis.url, RATE_LIMIT_ENABLED: 'false', SHUTDOWN_DRAIN_MS: String(DRAIN_MS) },
      { at: { ...network, port: await freePort() } },
    );
    const jobs = new JobClient(server.baseUrl);
    const submitted = await jobs.submit(
      ndjson(Array.from({ length: JOB_TEXTS }, (_, i) => `text number ${i} is fine`)),
    );
    expect(submitted.status).toBe(202);
    const { id } = (await submitted.json()) as { id: string };
    // Running: at least one chunk answered, most still to do.
    for (let tries = 0; ; tries++) {
      const status = (await (await jobs.status(id)).json()) as { state: string; textsDone: number };
      if (status.state === 'running' && status.textsDone > 0) {
        expect(status.textsDone).toBeLessThan(JOB_TEXTS);
        return;
      }
      if (tries > 300) throw new Error(`the job did not start: ${JSON.stringify(status)}`);
      await sleep(100);
    }
  }

  async function inflict(fault: Fault): Promise<void> {
    if (fault === 'killed') await redis!.kill();
    if (fault === 'frozen') redis!.pause();
    if (fault === 'restarted') await redis!.restart();
    if (fault === 'partitioned') partitionFromRedis(network);
  }

  it.each<Fault>(['killed', 'frozen', 'restarted', 'partitioned'])(
    'Redis %s: exits 0 within drain + 10 s, with a job running',
    async (fault) => {
      await jobRunning();
      await inflict(fault);
      try {
        // Let the clients notice (or not: a frozen or partitioned Redis says nothing).
        await sleep(500);
        const sentAt = performance.now();
        server!.child.kill('SIGTERM');
        const patience = new AbortController();
        const exit = await Promise.race([
          server!.exited,
          sleep(EXIT_WITHIN_MS + 20_000, 'still running' as const, { signal: patience.signal }),
        ]);
        patience.abort();
        const log = readFileSync(server!.logFile, 'utf8');
        expect({ exit: exit === 'still running' ? exit : { code: exit.code, signal: exit.signal }, log }).toEqual({
          exit: { code: 0, signal: null },
          log: expect.stringContaining('"shutdown complete"') as unknown,
        });
        expect((exit as { at: number }).at - sentAt).toBeLessThan(EXIT_WITHIN_MS);
      } finally {
        if (fault === 'partitioned') healPartition(network);
      }
    },
  );
});
