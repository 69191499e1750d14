import { UnavailableError } from '../../src/common/unavailable-error.js';
import { MicroBatcher, type MicroBatcherOptions } from '../../src/inference/micro-batcher.js';
import { ManualClock } from './manual-clock.js';

/** A model stand-in the test controls: records each call and settles it when told. */
class ControlledModel {
  readonly calls: { texts: string[]; resolve(): void; reject(error: Error): void }[] = [];

  readonly run = (texts: string[]): Promise<string[]> =>
    new Promise((resolve, reject) => {
      this.calls.push({ texts, resolve: () => resolve(texts.map((text) => `result:${text}`)), reject });
    });
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

function setup(options: Partial<MicroBatcherOptions> = {}) {
  const clock = new ManualClock();
  const model = new ControlledModel();
  const batches: { texts: number; ok: boolean }[] = [];
  const batcher = new MicroBatcher<string>(
    model.run,
    { maxBatchTexts: 4, windowMs: 5, maxQueueTexts: 100, maxQueueWaitMs: 10_000, maxConcurrentBatches: 1, ...options },
    clock,
    { onBatch: (texts, _seconds, ok) => batches.push({ texts, ok }) },
  );
  return { clock, model, batcher, batches };
}

describe('MicroBatcher', () => {
  it('flushes as soon as a batch is full, without waiting for the window', () => {
    const { model, batcher } = setup();
    void batcher.submit(['a', 'b']);
    void batcher.submit(['c', 'd']);
    expect(model.calls).toHaveLength(1);
    expect([...model.calls[0].texts].sort()).toEqual(['a', 'b', 'c', 'd']);
  });

  it('flushes a partial batch when the window after the first text ends', () => {
    const { clock, model, batcher } = setup();
    void batcher.submit(['a']);
    clock.advance(3);
    void batcher.submit(['b']);
    expect(model.calls).toHaveLength(0);
    clock.advance(2);
    expect(model.calls).toHaveLength(1);
    expect([...model.calls[0].texts].sort()).toEqual(['a', 'b']);
  });

  it('answers every request in its own order, across batches', async () => {
    const { clock, model, batcher } = setup();
    const first = batcher.submit(['x1', 'x2', 'x3', 'x4', 'x5', 'x6']);
    const second = batcher.submit(['y1']);
    clock.advance(5);
    while (model.calls.some((call) => call)) {
      const call = model.calls.shift()!;
      call.resolve();
      await flush();
      clock.advance(5);
    }
    await expect(first).resolves.toEqual([
      'result:x1',
      'result:x2',
      'result:x3',
      'result:x4',
      'result:x5',
      'result:x6',
    ]);
    await expect(second).resolves.toEqual(['result:y1']);
  });

  it('splits a large request into batches of at most maxBatchTexts, grouping similar lengths', async () => {
    const { model, batcher } = setup({ maxBatchTexts: 2 });
    void batcher.submit(['aaaaaaaa', 'b', 'cccccccc', 'd']);
    expect(model.calls[0].texts).toHaveLength(2);
    // The oldest text ('aaaaaaaa') runs with the other long one, not with a short one.
    expect([...model.calls[0].texts].sort()).toEqual(['aaaaaaaa', 'cccccccc']);
    model.calls[0].resolve();
    await flush();
    expect([...model.calls[1].texts].sort()).toEqual(['b', 'd']);
  });

  it('runs at most maxConcurrentBatches model calls at once', async () => {
    const { model, batcher } = setup({ maxBatchTexts: 1, maxConcurrentBatches: 2 });
    void batcher.submit(['a', 'b', 'c']);
    expect(model.calls).toHaveLength(2);
    expect(batcher.queuedTexts).toBe(1);
    model.calls[0].resolve();
    await flush();
    expect(model.calls).toHaveLength(3);
  });

  it('fails only the requests of the batch whose model call throws', async () => {
    const { clock, model, batcher, batches } = setup({ maxBatchTexts: 2 });
    const doomed = batcher.submit(['a', 'b']);
    const fine = batcher.submit(['c']);
    model.calls[0].reject(new Error('onnx exploded'));
    await expect(doomed).rejects.toMatchObject({ reason: 'inference-failed' });
    await expect(doomed).rejects.toBeInstanceOf(UnavailableError);
    clock.advance(5);
    model.calls[1].resolve();
    await expect(fine).resolves.toEqual(['result:c']);
    expect(batches).toEqual([
      { texts: 2, ok: false },
      { texts: 1, ok: true },
    ]);
  });

  it('refuses at once when the queue is full, with a Retry-After from measured call time', async () => {
    const { clock, model, batcher } = setup({ maxBatchTexts: 2, maxQueueTexts: 3 });
    void batcher.submit(['a', 'b']);
    clock.advance(400);
    model.calls[0].resolve();
    await flush();
    void batcher.submit(['c', 'd']);
    void batcher.submit(['e', 'f', 'g']);
    const refused = batcher.submit(['h']);
    await expect(refused).rejects.toMatchObject({ reason: 'queue-full' });
    const error = (await refused.catch((e: unknown) => e)) as UnavailableError;
    // One 400 ms call measured: the estimate grows with it and with the queue, never a constant.
    expect(error.retryAfterSeconds).toBeGreaterThan(0.05);
    expect(model.calls).toHaveLength(2);
  });

  it('refuses at once when the measured wait ahead exceeds maxQueueWaitMs, but takes a large request on an idle queue', async () => {
    const { clock, model, batcher } = setup({ maxBatchTexts: 2, maxQueueWaitMs: 1000 });
    const large = batcher.submit(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']);
    clock.advance(2000);
    model.calls[0].resolve();
    await flush();
    // One 2 s call measured; three batches still ahead: far past the 1 s budget.
    const refused = batcher.submit(['late']);
    await expect(refused).rejects.toMatchObject({ reason: 'queue-full' });
    const error = (await refused.catch((e: unknown) => e)) as UnavailableError;
    expect(error.retryAfterSeconds).toBeGreaterThan(1);
    for (let i = 1; i <= 3; i++) {
      clock.advance(2000);
      model.calls[i].resolve();
      await flush();
    }
    await expect(large).resolves.toHaveLength(8);
  });

  it('admits a sudden crowd only as far as the measured time per text allows, whatever the recent call sizes', async () => {
    const { clock, model, batcher } = setup({ maxBatchTexts: 32, maxQueueWaitMs: 100 });
    // A quiet spell: five one-text calls of 10 ms each (the window is 5 ms).
    for (let i = 0; i < 5; i++) {
      void batcher.submit([`quiet ${i}`]);
      clock.advance(5);
      clock.advance(10);
      model.calls[i].resolve();
      await flush();
    }
    // Then 30 one-text requests at once. Each queued text adds its measured time (≈ 8.4 ms after
    // five 10 ms measurements from the 5 ms seed) to the wait ahead of the next: past 100 ms, 503.
    const crowd = Array.from({ length: 30 }, (_, i) => batcher.submit([`crowd ${i}`]));
    const outcomes = await Promise.allSettled(
      crowd.map((answer) => Promise.race([answer, flush().then(() => 'queued')])),
    );
    const refused = outcomes.filter((outcome) => outcome.status === 'rejected');
    expect(outcomes.length - refused.length).toBe(12);
    for (const outcome of refused)
      expect((outcome as PromiseRejectedResult).reason).toMatchObject({ reason: 'queue-full' });
    expect(batcher.queuedTexts).toBe(12);
  });

  it('expires a request at its deadline and drops its texts that have not started', async () => {
    const { clock, model, batcher } = setup({ maxBatchTexts: 1 });
    const running = batcher.submit(['a']);
    const late = batcher.submit(['b', 'c'], 50);
    expect(batcher.queuedTexts).toBe(2);
    clock.advance(50);
    await expect(late).rejects.toMatchObject({ reason: 'request-timeout' });
    expect(batcher.queuedTexts).toBe(0);
    model.calls[0].resolve();
    await expect(running).resolves.toEqual(['result:a']);
    await flush();
    expect(model.calls.map((call) => call.texts)).toEqual([['a']]);
  });

  it('keeps a text queued when another request still waits for it after a deadline', async () => {
    const { clock, model, batcher } = setup({ maxBatchTexts: 1 });
    void batcher.submit(['a']);
    const late = batcher.submit(['shared'], 10);
    const patient = batcher.submit(['shared']);
    clock.advance(10);
    await expect(late).rejects.toMatchObject({ reason: 'request-timeout' });
    model.calls[0].resolve();
    await flush();
    expect(model.calls[1].texts).toEqual(['shared']);
    model.calls[1].resolve();
    await expect(patient).resolves.toEqual(['result:shared']);
  });

  it('computes identical texts in flight once, for every request that asked', async () => {
    const { clock, model, batcher } = setup();
    const one = batcher.submit(['same', 'other', 'same']);
    const two = batcher.submit(['same']);
    clock.advance(5);
    expect(model.calls).toHaveLength(1);
    expect([...model.calls[0].texts].sort()).toEqual(['other', 'same']);
    model.calls[0].resolve();
    await expect(one).resolves.toEqual(['result:same', 'result:other', 'result:same']);
    await expect(two).resolves.toEqual(['result:same']);
  });

  it('does not count coalesced texts against the queue limit', async () => {
    const { batcher } = setup({ maxQueueTexts: 2, windowMs: 1000 });
    void batcher.submit(['a', 'b']);
    await expect(Promise.race([batcher.submit(['a', 'b']), flush().then(() => 'pending')])).resolves.toBe('pending');
  });

  it('answers an empty request without a model call', async () => {
    const { model, batcher } = setup();
    await expect(batcher.submit([])).resolves.toEqual([]);
    expect(model.calls).toHaveLength(0);
  });
});
