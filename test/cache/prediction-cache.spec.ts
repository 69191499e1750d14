import { PredictionKeys } from '../../src/cache/cache-keys.js';
import { CacheStats } from '../../src/cache/cache-stats.js';
import { GuardedStore } from '../../src/cache/guarded-store.js';
import { MemoryPredictionStore } from '../../src/cache/memory-prediction-store.js';
import { cacheStatusOf, PredictionCache } from '../../src/cache/prediction-cache.js';
import type { ReadOptions, TextClassifier } from '../../src/inference/text-classifier.js';
import type { TruncationSide } from '../../src/model/token-sequences.js';
import type { ModelOutput } from '../../src/model/label-scores.js';
import { RedisUnavailableError } from '../../src/redis/redis-connection.js';

const LABELS = ['NEGATIVE', 'POSITIVE'] as const;
const MODEL: ReadOptions['model'] = { fingerprint: 'aaaaaaaaaaaaaaaa', labels: [...LABELS], maxSequenceLength: 512 };
const TTL_SECONDS = 300;

/** A stand-in for the model: different, exactly representable logits per text length, so answers can be told apart. */
function scoreOf(text: string): ModelOutput {
  const positive = ((text.length % 7) + 1) / 8;
  return { logits: [1 - positive, positive], tokens: text.length + 2 };
}

/** A stand-in for the classifier behind the cache, recording which texts it was asked for. */
function modelCalls() {
  const calls: string[][] = [];
  const compute = (texts: string[]): Promise<ModelOutput[]> => {
    calls.push([...texts]);
    return Promise.resolve(texts.map(scoreOf));
  };
  return { calls, compute };
}

/** The memory store, with a recording of what was written and, on demand, failing calls. */
class ObservedMemoryStore extends MemoryPredictionStore {
  readonly writes: { keys: string[]; ttlSeconds: number }[] = [];
  failReadsWith?: Error;
  failWritesWith?: Error;

  /** How many of the entries ever written the store still holds, read through its own interface. */
  async held(): Promise<number> {
    const written = [...new Set(this.writes.flatMap(({ keys }) => keys))];
    return (await super.getMany(written)).filter((value) => value !== undefined).length;
  }

  override getMany(keys: readonly string[]): Promise<unknown[]> {
    if (this.failReadsWith) return Promise.reject(this.failReadsWith);
    return super.getMany(keys);
  }

  override setMany(entries: readonly (readonly [string, unknown])[], ttlSeconds: number): Promise<void> {
    if (this.failWritesWith) return Promise.reject(this.failWritesWith);
    this.writes.push({ keys: entries.map(([key]) => key), ttlSeconds });
    return super.setMany(entries, ttlSeconds);
  }
}

function cacheOnMemory(maxEntries = 100) {
  const store = new ObservedMemoryStore(maxEntries);
  const stats = new CacheStats(store.backend, () => store.isUp());
  const operations: string[] = [];
  stats.onOperation((operation, seconds, ok) => {
    expect(seconds).toBeGreaterThanOrEqual(0);
    operations.push(`${operation}:${ok ? 'ok' : 'failed'}`);
  });
  // The classifier behind the cache: each call below says what it computes.
  let compute: (texts: string[]) => Promise<ModelOutput[]> = () => Promise.reject(new Error('no compute given'));
  const next: TextClassifier = {
    classify: async (texts) => {
      const outputs = await compute([...texts]);
      return { outputs, sources: outputs.map(() => 'miss' as const) };
    },
  };
  const decorator = new PredictionCache(new GuardedStore(store, stats), new PredictionKeys(), stats, TTL_SECONDS, next);
  /** Asks the cache as the service does, with `given` behind it, and tells its `X-Cache` status too. */
  const cache = {
    async predict(
      texts: string[],
      model: ReadOptions['model'],
      given: typeof compute,
      { tenant, truncation }: { tenant?: string; truncation?: TruncationSide } = {},
    ) {
      compute = given;
      const answer = await decorator.classify(texts, { cacheScope: tenant }, { model, truncation });
      return { ...answer, status: cacheStatusOf(answer.sources) };
    },
  };
  return { store, stats, cache, operations };
}

describe('PredictionCache on the in-memory store', () => {
  it('computes every distinct text once on a cold cache, answers in request order, and writes them back', async () => {
    const { store, stats, cache, operations } = cacheOnMemory();
    const { calls, compute } = modelCalls();
    const texts = ['good', 'a bad day', 'good', 'fine', 'a bad day'];

    const answer = await cache.predict(texts, MODEL, compute);

    expect(answer.status).toBe('MISS');
    expect(calls).toEqual([['good', 'a bad day', 'fine']]);
    expect(answer.outputs).toEqual(texts.map(scoreOf));
    expect(answer.sources).toEqual(texts.map(() => 'miss'));
    expect(await store.held()).toBe(3);
    expect(store.writes).toEqual([{ keys: expect.any(Array), ttlSeconds: TTL_SECONDS }]);
    expect(store.writes[0].keys).toHaveLength(3);
    expect(stats.totals()).toEqual({ hit: 0, miss: 3, error: 0, bypass: 0 });
    expect(operations).toEqual(['mget:ok', 'mset:ok']);
  });

  it('answers a repeated request from the store without calling the model or writing', async () => {
    const { store, stats, cache, operations } = cacheOnMemory();
    const first = modelCalls();
    const texts = ['good', 'terrible', 'good'];
    await cache.predict(texts, MODEL, first.compute);

    const second = modelCalls();
    const answer = await cache.predict(texts, MODEL, second.compute);

    expect(answer).toEqual({ status: 'HIT', outputs: texts.map(scoreOf), sources: texts.map(() => 'hit') });
    expect(second.calls).toEqual([]);
    expect(store.writes).toHaveLength(1);
    expect(stats.totals()).toEqual({ hit: 2, miss: 2, error: 0, bypass: 0 });
    expect(operations).toEqual(['mget:ok', 'mset:ok', 'mget:ok']);
  });

  it('merges hits and computed misses in request order, and writes back only the misses (PARTIAL)', async () => {
    const { store, stats, cache } = cacheOnMemory();
    await cache.predict(['cached one', 'cached two'], MODEL, modelCalls().compute);

    const { calls, compute } = modelCalls();
    const texts = ['new', 'cached two', 'newer text', 'cached one', 'new'];
    const answer = await cache.predict(texts, MODEL, compute);

    expect(answer.status).toBe('PARTIAL');
    expect(calls).toEqual([['new', 'newer text']]);
    expect(answer.outputs).toEqual(texts.map(scoreOf));
    expect(answer.sources).toEqual(['miss', 'hit', 'miss', 'hit', 'miss']);
    expect(store.writes.map(({ keys }) => keys.length)).toEqual([2, 2]);
    expect(await store.held()).toBe(4);
    expect(stats.totals()).toEqual({ hit: 2, miss: 4, error: 0, bypass: 0 });
  });

  it('serves a cached prediction as it was computed, not as the model would compute it now', async () => {
    const { cache } = cacheOnMemory();
    const stored: ModelOutput = { logits: [0.875, 0.125], tokens: 12 };
    await cache.predict(['remembered'], MODEL, () => Promise.resolve([stored]));

    const answer = await cache.predict(['remembered'], MODEL, modelCalls().compute);

    expect(answer.outputs).toEqual([stored]);
    expect(stored).not.toEqual(scoreOf('remembered'));
  });

  it("keeps each tenant's entries to that tenant, apart from the shared ones", async () => {
    const { cache } = cacheOnMemory();
    await cache.predict(['private text'], MODEL, modelCalls().compute, { tenant: 'tenant-a' });

    for (const tenant of ['tenant-b', undefined]) {
      const other = modelCalls();
      expect((await cache.predict(['private text'], MODEL, other.compute, { tenant })).status).toBe('MISS');
      expect(other.calls).toEqual([['private text']]);
    }
    const same = modelCalls();
    expect((await cache.predict(['private text'], MODEL, same.compute, { tenant: 'tenant-a' })).status).toBe('HIT');
    expect(same.calls).toEqual([]);
  });

  it('does not read entries of another model fingerprint or another label set', async () => {
    const { cache } = cacheOnMemory();
    await cache.predict(['text'], MODEL, modelCalls().compute);

    const otherModel = modelCalls();
    const answer = await cache.predict(['text'], { ...MODEL, fingerprint: 'bbbbbbbbbbbbbbbb' }, otherModel.compute);
    expect(answer.status).toBe('MISS');
    expect(otherModel.calls).toEqual([['text']]);

    // Same fingerprint, three labels: two stored logits cannot be this model's answer.
    const threeLabels = ['NEGATIVE', 'NEUTRAL', 'POSITIVE'];
    const relabelled = await cache.predict(['text'], { ...MODEL, labels: threeLabels }, (texts) =>
      Promise.resolve(texts.map(() => ({ logits: [0.25, 0.25, 0.5], tokens: 3 }))),
    );
    expect(relabelled.status).toBe('MISS');
    expect(relabelled.outputs[0].logits).toHaveLength(3);
  });

  it('keeps texts cut from the left apart from those cut from the right', async () => {
    const { cache } = cacheOnMemory();
    await cache.predict(['long text'], MODEL, modelCalls().compute);

    const left = modelCalls();
    expect((await cache.predict(['long text'], MODEL, left.compute, { truncation: 'left' })).status).toBe('MISS');
    expect(left.calls).toEqual([['long text']]);
    const again = modelCalls();
    expect((await cache.predict(['long text'], MODEL, again.compute, { truncation: 'left' })).status).toBe('HIT');
    expect((await cache.predict(['long text'], MODEL, again.compute, { truncation: 'right' })).status).toBe('HIT');
    expect(again.calls).toEqual([]);
  });

  it('forgets the least recently used entries beyond its size', async () => {
    const { store, cache } = cacheOnMemory(2);
    await cache.predict(['one', 'two', 'three'], MODEL, modelCalls().compute);
    expect(await store.held()).toBe(2);

    const again = modelCalls();
    const answer = await cache.predict(['one', 'two', 'three'], MODEL, again.compute);
    expect(answer.status).toBe('PARTIAL');
    expect(again.calls).toEqual([['one']]);
  });

  it('serves from the model, counted as bypass, when the store is known to be down', async () => {
    const { store, stats, cache, operations } = cacheOnMemory();
    store.failReadsWith = new RedisUnavailableError('breaker open');
    const { calls, compute } = modelCalls();

    const answer = await cache.predict(['x', 'yy', 'x'], MODEL, compute);

    expect(answer).toEqual({
      status: 'BYPASS',
      outputs: ['x', 'yy', 'x'].map(scoreOf),
      sources: ['bypass', 'bypass', 'bypass'],
    });
    expect(calls).toEqual([['x', 'yy']]);
    expect(store.writes).toEqual([]);
    expect(stats.totals()).toEqual({ hit: 0, miss: 0, error: 0, bypass: 2 });
    expect(operations).toEqual([]);
  });

  it('serves from the model, counted as errors, when a lookup fails', async () => {
    const { store, stats, cache, operations } = cacheOnMemory();
    await cache.predict(['x'], MODEL, modelCalls().compute);
    store.failReadsWith = new Error('connection reset');
    const { calls, compute } = modelCalls();

    const answer = await cache.predict(['x', 'yy'], MODEL, compute);

    expect(answer).toEqual({ status: 'BYPASS', outputs: ['x', 'yy'].map(scoreOf), sources: ['bypass', 'bypass'] });
    expect(calls).toEqual([['x', 'yy']]);
    expect(stats.totals()).toEqual({ hit: 0, miss: 1, error: 2, bypass: 0 });
    expect(operations).toEqual(['mget:ok', 'mset:ok', 'mget:failed']);
  });

  it('still answers when the write-back fails, and the texts stay misses', async () => {
    const { store, cache, operations } = cacheOnMemory();
    store.failWritesWith = new Error('out of memory');

    const answer = await cache.predict(['lost'], MODEL, modelCalls().compute);
    expect(answer).toEqual({ status: 'MISS', outputs: [scoreOf('lost')], sources: ['miss'] });
    expect(operations).toEqual(['mget:ok', 'mset:failed']);

    store.failWritesWith = undefined;
    expect((await cache.predict(['lost'], MODEL, modelCalls().compute)).status).toBe('MISS');
  });

  it('refuses an answer with the wrong number of predictions instead of caching it', async () => {
    const { store, cache } = cacheOnMemory();
    const short = (texts: string[]) => Promise.resolve(texts.slice(1).map(scoreOf));

    await expect(cache.predict(['a', 'bb'], MODEL, short)).rejects.toThrow(
      'expected 2 outputs for the cache misses, got 1',
    );
    expect(await store.held()).toBe(0);
  });
});
