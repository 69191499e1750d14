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
  /** The roles of the lines whose message matches, sorted. */
  const roles = (pattern: RegExp) =>
    t
      .logged(pattern)
      .map(({ role }) => String(role))
      .sort();
  const lost = () => roles(/^redis \(\S+\) unreachable/);
  const connected = () => roles(/^redis \(\S+\) connected$/);

  beforeAll(async () => {
    redis = await startRedisServer({ own: true });
    t = await startLoggedApp({ REDIS_URL: redis.url });
  });
  afterAll(async () => {
    await t?.close();
    await redis?.stop();
  });

  it('says once per role that Redis is lost, and once that it is back', async () => {
    await until(() => connected().length === ROLES.length, 15_000);
    expect(connected()).toEqual(ROLES);
    expect(lost()).toEqual([]);

    await redis.kill();
    await until(() => lost().length === ROLES.length, 15_000);
    await redis.restart();
    await until(() => connected().length === 2 * ROLES.length, 15_000);
    // Several reconnects' worth later, still one line each way per role.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(lost()).toEqual(ROLES);
    expect(connected()).toEqual(ROLES.flatMap((role) => [role, role]));
  }, 45_000);
});
