// npx tsx bench/redis-store-reads.ts [--calls 1000] [--keys 32]
// How the prediction cache's read (src/cache/redis-prediction-store.ts) costs against a local
// redis-server: the raw MGET it once used, cache-manager-redis-yet's mget it uses now, the whole
// getMany of the store (through the connection's policies, and its single-Redis-or-cluster choice),
// and the per-key fallback it takes when one value is not JSON. Prints one JSON line per way.
import { parseArgs } from 'node:util';
import { redisInsStore } from 'cache-manager-redis-yet';
import { createClient, type RedisClientType } from 'redis';
import { RedisPredictionStore } from '../src/cache/redis-prediction-store.js';
import { BREAKER_DEFAULTS, RedisConnection } from '../src/redis/redis-connection.js';
import { startRedisServer } from '../test/support/redis-server.js';
import { summarize } from './lib/stats.js';

const { values } = parseArgs({
  options: { calls: { type: 'string', default: '1000' }, keys: { type: 'string', default: '32' } },
  strict: true,
});
const calls = Number(values.calls);
const keyCount = Number(values.keys);

const redis = await startRedisServer({ own: true });
const client = createClient({ url: redis.url }) as RedisClientType;
await client.connect();
try {
  const store = redisInsStore(client);
  const keys = Array.from({ length: keyCount }, (_, i) => `bench:store-reads:${i}`);
  await store.mset(
    keys.map((key, i) => [key, [i / keyCount, 1 - i / keyCount]]),
    60_000,
  );

  const rawMget = async () =>
    (await client.mGet(keys)).map((value) => (value === null ? undefined : parseOrRaw(value)));
  const storeMget = () => store.mget(...keys);
  const perKeyGets = () => Promise.all(keys.map((key) => store.get(key).catch(() => undefined)));
  const predictionStore = new RedisPredictionStore(
    new RedisConnection(client, { timeoutMs: 1000, ...BREAKER_DEFAULTS }),
  );

  await time('raw MGET, each value parsed', rawMget);
  await time("the store's mget", storeMget);
  await time("the prediction store's getMany", () => predictionStore.getMany(keys));
  await time('the fallback: one store.get per key, pipelined', perKeyGets);

  // One value that is not JSON: the store's mget rejects the whole batch; the fallback loses only it.
  await client.set(keys[0], 'garbage{');
  const whole = await storeMget().then(
    () => 'answered',
    (error: Error) => `rejected (${error.name})`,
  );
  const hits = (await perKeyGets()).filter((value) => value !== undefined).length;
  console.log(JSON.stringify({ oneCorruptValue: { storeMget: whole, fallbackHits: `${hits}/${keyCount}` } }));
} finally {
  await client.disconnect();
  await redis.stop();
}

async function time(way: string, read: () => Promise<unknown[]>): Promise<void> {
  for (let i = 0; i < 50; i++) await read(); // warm-up
  const ms: number[] = [];
  for (let i = 0; i < calls; i++) {
    const started = performance.now();
    const answer = await read();
    ms.push(performance.now() - started);
    if (answer.length !== keyCount || answer.some((value) => value === undefined)) throw new Error(`${way}: a miss`);
  }
  const { p50, p95, p99 } = summarize(ms);
  const total = ms.reduce((sum, value) => sum + value, 0);
  console.log(
    JSON.stringify({
      way,
      calls,
      keys: keyCount,
      totalMs: round(total),
      p50Ms: round(p50),
      p95Ms: round(p95),
      p99Ms: round(p99),
    }),
  );
}

function parseOrRaw(value: string): unknown {
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
