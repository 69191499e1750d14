import { TooCostlyError } from '../../src/common/too-costly-error.js';
import { UnavailableError } from '../../src/common/unavailable-error.js';
import type { CallCost, CallShape, CostEstimator } from '../../src/inference/call-cost-model.js';
import {
  TokenScheduler,
  type FinishedCall,
  type TokenSchedulerOptions,
  type TokenizedText,
} from '../../src/inference/token-scheduler.js';
import { ManualClock } from './manual-clock.js';

/** A cost model with fixed coefficients, so the tests know every estimate. */
class FixedCost implements CostEstimator {
  constructor(public current: CallCost) {}
  seconds({ texts, paddedLength }: CallShape): number {
    if (texts === 0) return 0;
    const tokens = texts * paddedLength;
    const c = this.current;
    return c.fixed + (c.perKiloToken * tokens) / 1e3 + (c.perMegaTokenLength * tokens * paddedLength) / 1e6;
  }
  observe(): void {}
}

/** A model stand-in the test controls: records each call and settles it when told. */
class ControlledModel {
  readonly calls: { keys: string[]; lengths: number[]; resolve(): void; reject(error: Error): void }[] = [];
  private readonly keyOf = new Map<Int32Array, string>();

  readonly run = (sequences: readonly Int32Array[]): Promise<string[]> =>
    new Promise((resolve, reject) => {
      const keys = sequences.map((sequence) => this.keyOf.get(sequence)!);
      this.calls.push({
        keys,
        lengths: sequences.map((sequence) => sequence.length),
        resolve: () => resolve(keys.map((key) => `result:${key}`)),
        reject,
      });
    });

  text(key: string, tokens: number): TokenizedText {
    const sequence = new Int32Array(tokens);
    this.keyOf.set(sequence, key);
    return { key, tokens: sequence };
  }

  texts(prefix: string, count: number, tokens: number): TokenizedText[] {
    return Array.from({ length: count }, (_, i) => this.text(`${prefix}${i}`, tokens));
  }

  /** Settles the oldest unsettled call. */
  async finishNext(clock: ManualClock, ms: number): Promise<string[]> {
    const call = this.calls.shift()!;
    clock.advance(ms);
    call.resolve();
    await flush();
    return call.keys;
  }
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

/** ~1 ms per padded token plus 10 ms per call: simple numbers to reason with. */
const COST: CallCost = { fixed: 0.01, perKiloToken: 1, perMegaTokenLength: 0 };

function setup(options: Partial<TokenSchedulerOptions> = {}, cost: CallCost | FixedCost = COST) {
  const clock = new ManualClock();
  const model = new ControlledModel();
  const calls: FinishedCall[] = [];
  const refusals: string[] = [];
  const drops: { reason: string; texts: number }[] = [];
  const scheduler = new TokenScheduler<string>(
    model.run,
    {
      maxBatchTokens: 512,
      maxBatchTexts: 8,
      windowMs: 0,
      maxConcurrentCalls: 1,
      maxQueueTokens: 100_000,
      deadlineMs: 10_000,
      ...options,
    },
    clock,
    {
      onCall: (call) => calls.push(call),
      onRefuse: (reason) => refusals.push(reason),
      onDrop: (reason, texts) => drops.push({ reason, texts }),
    },
    cost instanceof FixedCost ? cost : new FixedCost(cost),
  );
  return { clock, model, scheduler, calls, refusals, drops };
}

describe('TokenScheduler', () => {
  it('fills a call up to the token budget (texts × longest), never over it', async () => {
    const { clock, model, scheduler } = setup({ maxBatchTokens: 400 });
    const answer = scheduler.submit(model.texts('t', 10, 100));
    const sizes: number[] = [];
    while (model.calls.length > 0) {
      const { lengths } = model.calls[0];
      expect(lengths.length * Math.max(...lengths)).toBeLessThanOrEqual(400);
      sizes.push(lengths.length);
      await model.finishNext(clock, 100);
    }
    expect(sizes).toEqual([4, 4, 2]);
    await expect(answer).resolves.toEqual(Array.from({ length: 10 }, (_, i) => `result:t${i}`));
  });

  it('batches texts of one length together even when the fitted cost per call is zero', () => {
    const { model, scheduler } = setup(
      { maxBatchTokens: 2048, maxBatchTexts: 32 },
      { fixed: 0, perKiloToken: 0.2, perMegaTokenLength: 0.05 },
    );
    void scheduler.submit([model.text('busy', 13)]);
    for (let i = 0; i < 8; i++) void scheduler.submit(model.texts(`c${i}-`, 16, 13 + (i % 2)));
    model.calls.shift()!.resolve();
    return flush().then(() => expect(model.calls[0].keys).toHaveLength(32));
  });

  it('bounds a call by maxBatchTexts as well', () => {
    const { model, scheduler } = setup({ maxBatchTexts: 3 });
    void scheduler.submit(model.texts('t', 7, 10));
    expect(model.calls[0].keys).toHaveLength(3);
  });

  it('keeps short and long texts in separate calls when padding would cost more than a call', async () => {
    const { clock, model, scheduler, calls } = setup({ maxBatchTokens: 2048 });
    void scheduler.submit(model.texts('busy', 1, 10)); // occupies the model while the rest queue up
    const mixed = [...model.texts('short', 4, 12), ...model.texts('long', 3, 500)];
    const answer = scheduler.submit(mixed);
    await model.finishNext(clock, 10);
    while (model.calls.length > 0) {
      const { lengths } = model.calls[0];
      expect(Math.max(...lengths) - Math.min(...lengths)).toBeLessThan(50);
      await model.finishNext(clock, 10);
    }
    await expect(answer).resolves.toHaveLength(7);
    const efficiency = calls.reduce((s, c) => s + c.realTokens, 0) / calls.reduce((s, c) => s + c.paddedTokens, 0);
    expect(efficiency).toBe(1);
  });

  it("interleaves a large request's chunks with another request's text, so the small one is not starved", async () => {
    const { clock, model, scheduler } = setup({ maxBatchTokens: 1024, deadlineMs: 600_000 });
    const large = scheduler.submit(model.texts('large', 40, 500));
    expect(model.calls).toHaveLength(1); // the first chunk runs at once
    const small = scheduler.submit([model.text('small', 12)]);
    let smallDone = false;
    void small.then(() => (smallDone = true));
    await model.finishNext(clock, 1000);
    expect(model.calls[0].keys).toEqual(['small']); // its turn comes next, not after 20 more chunks
    await model.finishNext(clock, 20);
    expect(smallDone).toBe(true);
    while (model.calls.length > 0) await model.finishNext(clock, 1000);
    await expect(large).resolves.toHaveLength(40);
  });

  it('lets a request that needs a call per length finish in its turn when the rest fits in one full call', async () => {
    const { clock, model, scheduler } = setup();
    void scheduler.submit([model.text('busy', 10)]); // occupies the model while the rest queue up
    const mixed = scheduler.submit([...model.texts('short', 3, 5), model.text('long', 100)]);
    const other = scheduler.submit([model.text('other', 20)]);
    const order: string[] = [];
    while (model.calls.length > 0) order.push((await model.finishNext(clock, 10)).sort().join(','));
    // One call per length, both in the mixed request's turn (0.025 s + 0.11 s of a 0.522 s turn).
    expect(order).toEqual(['busy', 'short0,short1,short2', 'long', 'other']);
    await expect(mixed).resolves.toHaveLength(4);
    await expect(other).resolves.toEqual(['result:other']);
  });

  it('takes turns between flows: a tenant with many requests does not crowd out another', async () => {
    const { clock, model, scheduler } = setup({ maxBatchTexts: 2, maxBatchTokens: 4096, deadlineMs: 600_000 });
    void scheduler.submit([model.text('first', 10)], { flow: 'a' });
    for (let i = 0; i < 5; i++) void scheduler.submit(model.texts(`a${i}-`, 2, 10), { flow: 'a' });
    void scheduler.submit(model.texts('b', 2, 10), { flow: 'b' });
    await model.finishNext(clock, 10);
    const next = await model.finishNext(clock, 10);
    const after = await model.finishNext(clock, 10);
    // Flow b leads one of the next two calls although flow a queued five requests before it.
    expect([...next, ...after].some((key) => key.startsWith('b'))).toBe(true);
  });

  it('expires a request at its deadline: it gets 503 request-timeout and its unstarted texts leave the queue', async () => {
    const { clock, model, scheduler, drops } = setup({ deadlineMs: 500, maxBatchTexts: 1 });
    const running = scheduler.submit([model.text('a', 10)]);
    const late = scheduler.submit(model.texts('b', 2, 10));
    expect(scheduler.queuedTexts).toBe(2);
    clock.advance(500);
    await expect(late).rejects.toMatchObject({ reason: 'request-timeout' });
    expect(scheduler.queuedTexts).toBe(0);
    expect(scheduler.queuedTokens).toBe(0);
    expect(drops).toContainEqual({ reason: 'deadline', texts: 2 });
    model.calls.shift()!.resolve();
    await expect(running).rejects.toMatchObject({ reason: 'request-timeout' }); // same deadline
    expect(model.calls).toHaveLength(0);
  });

  it('drops the texts of a client that hung up, but keeps a text another request still waits for', async () => {
    const { clock, model, scheduler, drops } = setup({ maxBatchTexts: 1 });
    void scheduler.submit([model.text('busy', 10)]);
    const hangUp = new AbortController();
    const gone = scheduler.submit([model.text('mine', 10), model.text('shared', 10)], { signal: hangUp.signal });
    const patient = scheduler.submit([model.text('shared', 10)]);
    expect(scheduler.queuedTexts).toBe(2);
    hangUp.abort();
    await expect(gone).rejects.toMatchObject({ reason: 'cancelled' });
    expect(scheduler.queuedTexts).toBe(1);
    expect(drops).toContainEqual({ reason: 'cancelled', texts: 1 });
    await model.finishNext(clock, 10);
    expect(await model.finishNext(clock, 10)).toEqual(['shared']);
    await expect(patient).resolves.toEqual(['result:shared']);
  });

  it('admits what the cost model says can finish within the deadline, and refuses the rest with the excess as Retry-After', async () => {
    // 10 s deadline → 8 s admission limit; each 100-token text costs 0.1 s plus its share of calls.
    const { model, scheduler, refusals } = setup({ maxBatchTokens: 800, maxBatchTexts: 8 });
    const admitted: Promise<string[]>[] = [];
    for (let i = 0; i < 7; i++) admitted.push(scheduler.submit(model.texts(`r${i}-`, 10, 100)));
    expect(refusals).toEqual([]);
    expect(scheduler.estimatedWaitSeconds()).toBeGreaterThan(6);
    const refused = scheduler.submit(model.texts('late', 20, 100));
    await expect(refused).rejects.toBeInstanceOf(UnavailableError);
    await expect(refused).rejects.toMatchObject({ reason: 'over-capacity' });
    const error = (await refused.catch((e: UnavailableError) => e)) as UnavailableError;
    // Its own 2,000 tokens cost ≥ 2 s (more with the expected padding): the excess over the limit.
    const excessWithoutPadding = scheduler.estimatedWaitSeconds() + 20 * 0.1 + 3 * 0.01 - 8;
    expect(error.retryAfterSeconds).toBeGreaterThanOrEqual(excessWithoutPadding);
    expect(error.retryAfterSeconds).toBeLessThan(excessWithoutPadding + 0.5);
    expect(refusals).toEqual(['over-capacity']);
    expect(scheduler.refusalForAnyRequest()).toBeUndefined(); // a small request still fits
  });

  it('serves a burst it can clear within the deadline, however many requests it is made of', () => {
    const { model, scheduler, refusals } = setup(
      { maxBatchTokens: 2048, maxBatchTexts: 32 },
      {
        fixed: 0.02,
        perKiloToken: 0.42,
        perMegaTokenLength: 0.1,
      },
    );
    for (let i = 0; i < 64; i++) void scheduler.submit(model.texts(`c${i}-`, 16, 14));
    expect(refusals).toEqual([]);
  });

  it('refuses a request that could never finish within the deadline as too costly, even when idle', async () => {
    const { model, scheduler, refusals } = setup();
    const huge = scheduler.submit(model.texts('huge', 200, 512));
    await expect(huge).rejects.toBeInstanceOf(TooCostlyError);
    expect(refusals).toEqual(['too-costly']);
    expect(model.calls).toHaveLength(0);
  });

  it('refuses every new request once the queued work alone is past the limit (the model got slower)', () => {
    const cost = new FixedCost(COST);
    const { model, scheduler } = setup({ maxBatchTokens: 800 }, cost);
    for (let i = 0; i < 7; i++) void scheduler.submit(model.texts(`r${i}-`, 10, 100));
    expect(scheduler.refusalForAnyRequest()).toBeUndefined();
    cost.current = { ...COST, perKiloToken: 2 };
    expect(scheduler.refusalForAnyRequest()).toMatchObject({ reason: 'over-capacity' });
  });

  it('refuses when the queue would hold more than maxQueueTokens', async () => {
    const { model, scheduler, refusals } = setup({ maxQueueTokens: 1000, maxBatchTexts: 1 });
    void scheduler.submit(model.texts('a', 9, 100));
    await expect(scheduler.submit(model.texts('b', 3, 100))).rejects.toMatchObject({ reason: 'queue-full' });
    expect(refusals).toEqual(['queue-full']);
  });

  it('computes identical texts in flight once, for every request that asked', async () => {
    const { clock, model, scheduler } = setup();
    const one = scheduler.submit([model.text('same', 5), model.text('other', 5), model.text('same', 5)]);
    const two = scheduler.submit([model.text('same', 5)]);
    await model.finishNext(clock, 5);
    expect(model.calls).toHaveLength(0);
    await expect(one).resolves.toEqual(['result:same', 'result:other', 'result:same']);
    await expect(two).resolves.toEqual(['result:same']);
  });

  it('fails only the requests of the call that failed', async () => {
    const { clock, model, scheduler, calls } = setup({ maxBatchTexts: 1 });
    const doomed = scheduler.submit([model.text('a', 5)]);
    const fine = scheduler.submit([model.text('b', 5)]);
    model.calls.shift()!.reject(new Error('onnx exploded'));
    await expect(doomed).rejects.toMatchObject({ reason: 'inference-failed' });
    await model.finishNext(clock, 5);
    await expect(fine).resolves.toEqual(['result:b']);
    expect(calls.map((call) => call.ok)).toEqual([false, true]);
  });

  it('waits windowMs for company before running a partial call', () => {
    const { clock, model, scheduler } = setup({ windowMs: 5 });
    void scheduler.submit([model.text('a', 5)]);
    clock.advance(3);
    void scheduler.submit([model.text('b', 5)]);
    expect(model.calls).toHaveLength(0);
    clock.advance(2);
    expect(model.calls).toHaveLength(1);
    expect(model.calls[0].keys.sort()).toEqual(['a', 'b']);
  });

  it('runs a lone client’s next text at once: the last call answered one text, and it is back', async () => {
    const { clock, model, scheduler } = setup({ windowMs: 5 });
    void scheduler.submit([model.text('first', 5)]);
    expect(model.calls).toHaveLength(0);
    clock.advance(5);
    await model.finishNext(clock, 10);
    void scheduler.submit([model.text('second', 5)]);
    expect(model.calls[0].keys).toEqual(['second']);
    // A second client's text waits through that call, then for the first client to come back.
    void scheduler.submit([model.text('other', 5)]);
    await model.finishNext(clock, 10);
    expect(model.calls).toHaveLength(0);
    void scheduler.submit([model.text('third', 5)]);
    expect(model.calls[0].keys.sort()).toEqual(['other', 'third']);
  });

  it('after a call, waits for as many texts as it answered to join the ones that waited, up to windowMs', async () => {
    const { clock, model, scheduler } = setup({ windowMs: 5 });
    // Four one-text clients in a call, four more waiting through it (a closed loop of 8).
    const first = ['a', 'b', 'c', 'd'].map((key) => scheduler.submit([model.text(key, 5)]));
    clock.advance(5);
    expect(model.calls[0].keys).toHaveLength(4);
    for (const key of ['e', 'f', 'g', 'h']) void scheduler.submit([model.text(key, 5)]);
    await model.finishNext(clock, 20);
    await Promise.all(first);
    // Their window ended long ago, but the answered clients are expected back: the call waits.
    expect(model.calls).toHaveLength(0);
    for (const key of ['a2', 'b2', 'c2']) void scheduler.submit([model.text(key, 5)]);
    expect(model.calls).toHaveLength(0);
    void scheduler.submit([model.text('d2', 5)]);
    // All four are back: it runs at once, with all eight.
    expect(model.calls[0].keys).toHaveLength(8);
    // One text waits through that call; only two of the eight answered come back: the call runs
    // when the window ends, with the three.
    void scheduler.submit([model.text('x', 5)]);
    await model.finishNext(clock, 20);
    for (const key of ['a3', 'b3']) void scheduler.submit([model.text(key, 5)]);
    clock.advance(4);
    expect(model.calls).toHaveLength(0);
    clock.advance(1);
    expect(model.calls[0].keys.sort()).toEqual(['a3', 'b3', 'x']);
  });

  describe('bulk priority', () => {
    it('runs bulk texts only while no interactive text waits: interactive leads the next call', async () => {
      const { clock, model, scheduler } = setup({ maxBatchTexts: 4 });
      const bulk = scheduler.submit(model.texts('bulk', 12, 10), { priority: 'bulk', flow: 'job' });
      expect(model.calls[0].keys.every((key) => key.startsWith('bulk'))).toBe(true); // idle: bulk runs at once
      const interactive = scheduler.submit([model.text('user', 10)]);
      expect(scheduler.queuedTexts).toBe(1);
      await model.finishNext(clock, 40);
      // The one running bulk call finished; the waiting interactive text goes next, alone.
      expect(model.calls[0].keys).toEqual(['user']);
      await model.finishNext(clock, 10);
      await expect(interactive).resolves.toEqual(['result:user']);
      // The 8 bulk texts that waited behind it come after.
      const laterBulk: string[] = [];
      while (model.calls.length > 0) laterBulk.push(...(await model.finishNext(clock, 40)));
      expect(laterBulk).toHaveLength(8);
      expect(laterBulk.every((key) => key.startsWith('bulk'))).toBe(true);
      await expect(bulk).resolves.toHaveLength(12);
    });

    it('never mixes bulk texts into an interactive call', async () => {
      const { clock, model, scheduler } = setup({ maxBatchTexts: 8 });
      void scheduler.submit([model.text('busy', 10)]);
      void scheduler.submit(model.texts('bulk', 6, 10), { priority: 'bulk' });
      void scheduler.submit(model.texts('user', 2, 10));
      await model.finishNext(clock, 10);
      expect(model.calls[0].keys).toEqual(['user0', 'user1']);
      await model.finishNext(clock, 10);
      expect(model.calls[0].keys.every((key) => key.startsWith('bulk'))).toBe(true);
    });

    it('does not count queued bulk work against interactive admission, nor refuse or expire bulk work', async () => {
      // 10 s deadline → 8 s admission limit; 100-token texts cost about 0.1 s each.
      const { clock, model, scheduler, refusals } = setup({ maxBatchTokens: 1000, maxBatchTexts: 10 });
      const bulk = scheduler.submit(model.texts('bulk', 400, 100), { priority: 'bulk' }); // ~40 s of work
      expect(scheduler.refusalForAnyRequest()).toBeUndefined();
      const interactive = scheduler.submit(model.texts('user', 10, 100));
      expect(refusals).toEqual([]);
      clock.advance(20_000); // past the deadline: only interactive work expires
      await model.finishNext(clock, 1000);
      await expect(interactive).rejects.toMatchObject({ reason: 'request-timeout' });
      while (model.calls.length > 0) await model.finishNext(clock, 1000);
      await expect(bulk).resolves.toHaveLength(400);
    });

    it('moves a queued bulk text to the interactive lane when an interactive request asks for it', async () => {
      const { clock, model, scheduler } = setup({ maxBatchTexts: 1 });
      void scheduler.submit([model.text('busy', 10)]);
      const bulk = scheduler.submit([model.text('b0', 10), model.text('same', 10)], { priority: 'bulk' });
      const interactive = scheduler.submit([model.text('same', 10)]);
      expect(scheduler.queuedTexts).toBe(1);
      await model.finishNext(clock, 10);
      expect(await model.finishNext(clock, 10)).toEqual(['same']);
      await expect(interactive).resolves.toEqual(['result:same']);
      // Only the other bulk text was left in the bulk lane.
      expect(await model.finishNext(clock, 10)).toEqual(['b0']);
      expect(model.calls).toHaveLength(0);
      await expect(bulk).resolves.toEqual(['result:b0', 'result:same']);
    });

    it('takes bulk texts out of the queue when their job is cancelled', async () => {
      const { clock, model, scheduler, drops } = setup({ maxBatchTexts: 2 });
      void scheduler.submit([model.text('busy', 10)]);
      const cancel = new AbortController();
      const bulk = scheduler.submit(model.texts('bulk', 6, 10), { priority: 'bulk', signal: cancel.signal });
      cancel.abort();
      await expect(bulk).rejects.toMatchObject({ reason: 'cancelled' });
      expect(drops).toEqual([{ reason: 'cancelled', texts: 6 }]);
      await model.finishNext(clock, 10);
      expect(model.calls).toHaveLength(0);
    });
  });

  it('answers an empty request without a model call', async () => {
    const { model, scheduler } = setup();
    await expect(scheduler.submit([])).resolves.toEqual([]);
    expect(model.calls).toHaveLength(0);
  });
});
