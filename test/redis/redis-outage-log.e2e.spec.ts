import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { until } from '../support/until.js';
import { startLoggedApp, type LoggedApp } from './logged-app.js';

/** Every Redis role of a replica with jobs on (one Redis): docs/REDIS.md's connection table. */
const ROLES = ['cache', 'jobs-queue', 'jobs-store', 'jobs-worker'];

/**
 * What a replica logs about Redis through an outage: each role one warning when its connection is
 * lost and one line when it is back, BullMQ's two connections included (its worker says nothing
 * when Redis comes back, so the lines come from the connections themselves). Redis is restarted
 * only once every role has said it is lost, so no reconnect can slip through unseen.
 */
describe('Redis outage lines, per role', () => {
  let redis: RedisServer;
  let t: LoggedApp;
  /** Each Redis line from the `from`-th log line on, as role and what it said. */
  const redisLines = (from = 0) =>
    t.lines
      .slice(from)
      .map((line) => JSON.parse(line) as { msg?: unknown; role?: unknown })
      .flatMap(({ msg, role }) => {
        const said = typeof msg === 'string' ? /^redis \(\S+\) (unreachable|connected$)/.exec(msg)?.[1] : undefined;
        return said === undefined ? [] : [{ role: String(role), said }];
      });
  /** The roles that said `said` from the `from`-th log line on, sorted. */
  const roles = (said: 'unreachable' | 'connected', from = 0) =>
    redisLines(from)
      .filter((line) => line.said === said)
      .map(({ role }) => role)
      .sort();

  beforeAll(async () => {
    redis = await startRedisServer({ own: true });
    t = await startLoggedApp({ REDIS_URL: redis.url });
  });
  afterAll(async () => {
    await t?.close();
    await redis?.stop();
  });

  it('says once per role that Redis is lost, and once that it is back', async () => {
    await until(() => roles('connected').length === ROLES.length, 15_000);
    expect(roles('connected')).toEqual(ROLES);
    // At start a role says only that it is connected, or, when its first attempt timed out, that
    // first: a test machine busy enough can stall the event loop past the 2 s connect timeout while
    // the app initialises. That is a true line about another outage than this test's, so this
    // test's are counted from here.
    for (const role of ROLES) {
      expect([['connected'], ['unreachable', 'connected']]).toContainEqual(
        redisLines()
          .filter((line) => line.role === role)
          .map(({ said }) => said),
      );
    }
    const from = t.lines.length;

    await redis.kill();
    await until(() => roles('unreachable', from).length === ROLES.length, 15_000);
    await redis.restart();
    await until(() => roles('connected', from).length === ROLES.length, 15_000);
    // Several reconnects' worth later, still one line each way per role.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(roles('unreachable', from)).toEqual(ROLES);
    expect(roles('connected', from)).toEqual(ROLES);
  }, 45_000);
});
