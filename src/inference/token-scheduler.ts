import { context, ROOT_CONTEXT, trace, type Link, type Span, type SpanContext } from '@opentelemetry/api';
import { TooCostlyError } from '../common/too-costly-error.js';
import { RETRY_AT_ONCE_SECONDS, UnavailableError } from '../common/unavailable-error.js';
import { outsideAnyRequest } from '../telemetry/request-context.js';
import { activeSpanContext, recordFailure, SPAN, tracer } from '../telemetry/spans.js';
import { CallCostModel, type CallShape, type CostEstimator } from './call-cost-model.js';
import type { Clock } from './clock.js';

export interface TokenSchedulerOptions {
  /** Padded tokens one model call may carry: texts × the longest sequence among them. */
  maxBatchTokens: number;
  /** Texts one model call may carry. */
  maxBatchTexts: number;
  /** How long queued texts wait for company before a partial batch runs (less once the expected company is there). */
  windowMs: number;
  /** Model calls handed to the model worker at once (MAX_CONCURRENT_BATCHES). */
  maxConcurrentCalls: number;
  /** Tokens allowed to wait (a memory bound); past it requests are refused. */
  maxQueueTokens: number;
  /** Every request's deadline; admission promises to finish within it. */
  deadlineMs: number;
}

/** One text ready for the model: the key that coalesces identical texts, and its token ids. */
export interface TokenizedText {
  key: string;
  tokens: Int32Array;
}

/** Runs one model call on token sequences: one output per sequence, in the same order. */
export type RunCall<T> = (sequences: readonly Int32Array[], expectedSeconds: number) => Promise<T[]>;

/**
 * `interactive`: a caller waits on the answer (admitted against the deadline). `bulk`: a job's
 * chunk; it never leads a call while an interactive text waits, is never refused or expired, and
 * does not count against interactive admission, so it only fills idle model time.
 */
export type Priority = 'interactive' | 'bulk';

export interface SubmitOptions {
  /** Default `interactive`. */
  priority?: Priority;
  /**
   * The unit of fairness: model time is shared round-robin between flows (an API key's tenant;
   * without one, each request is its own flow).
   */
  flow?: string;
  /** Aborted when the client hangs up: the request's texts that have not started leave the queue. */
  signal?: AbortSignal;
}

export type RefusalReason = 'over-capacity' | 'queue-full' | 'too-costly';
export type DropReason = 'deadline' | 'cancelled';

export interface FinishedCall {
  texts: number;
  realTokens: number;
  paddedTokens: number;
  seconds: number;
  ok: boolean;
}

/** What the scheduler reports, e.g. to metrics. */
export interface SchedulerListener {
  onCall?(call: FinishedCall): void;
  onAdmit?(texts: number, tokens: number): void;
  onRefuse?(reason: RefusalReason): void;
  onDrop?(reason: DropReason, texts: number): void;
}

/**
 * Share of the deadline an admitted request is expected to need at most: the margin absorbs the
 * cost model's error and requests that fairness lets in ahead.
 */
const ADMISSION_SHARE = 0.8;
/**
 * Padding a text into a call may cost this much more than running it alone and it still joins: texts
 * a few tokens apart batch together, which the fitted cost (noisy in its fixed part) would split.
 */
const JOIN_TOLERANCE = 0.1;
/** The fewest tokens a text can have: [CLS], one token, [SEP]. */
const CHEAPEST_TEXT_TOKENS = 3;
/** Starting estimate of real / padded tokens, corrected by every call. */
const PRIOR_PADDING_EFFICIENCY = 0.9;
/** One call's weight in the padding efficiency estimate: a moving average over about ten calls. */
const PADDING_EFFICIENCY_WEIGHT = 0.1;

interface Waiter<T> {
  request: PendingRequest<T>;
  index: number;
}

/** One distinct text, queued or running, with every request position waiting for it. */
interface Entry<T> {
  key: string;
  tokens: Int32Array;
  waiters: Waiter<T>[];
  /** The flow whose queue holds it; undefined once it runs. */
  flow?: Flow<T>;
}

interface Flow<T> {
  id: string;
  lane: Lane<T>;
  /** Not-started texts in the order this flow's texts are served. */
  pending: Entry<T>[];
}

/** The flows of one priority, taking turns, and the totals of their not-started texts. */
interface Lane<T> {
  priority: Priority;
  ring: Flow<T>[];
  flows: Map<string, Flow<T>>;
  cursor: number;
  /** Model time (estimated) the calls led in the current turn took. */
  turnSeconds: number;
  pendingTexts: number;
  pendingTokens: number;
  /** Σ length² of pending texts: attention's share of their cost. */
  pendingTokenSquares: number;
  /** When the batching window started: the oldest pending text's arrival, or the last interactive call's end. */
  windowStartedAt: number;
  /** Pending texts at which a call runs before its window ends: the company expected in it. */
  expectedTexts: number;
  /** Texts the lane's last call answered (none yet: no company is expected, the window runs out). */
  lastCallTexts: number;
}

function emptyLane<T>(priority: Priority): Lane<T> {
  return {
    priority,
    ring: [],
    flows: new Map(),
    cursor: 0,
    turnSeconds: 0,
    pendingTexts: 0,
    pendingTokens: 0,
    pendingTokenSquares: 0,
    windowStartedAt: 0,
    expectedTexts: Infinity,
    lastCallTexts: Infinity,
  };
}

interface PendingRequest<T> {
  results: T[];
  remaining: number;
  settled: boolean;
  entries: Set<Entry<T>>;
  deadlineTimer: unknown;
  signal?: AbortSignal;
  onAbort?: () => void;
  resolve(results: T[]): void;
  reject(error: Error): void;
  /** The span active when it was queued (its request's, or its job chunk's): model calls link to it. */
  spanContext?: SpanContext;
  /** Its texts' positions waiting for a call that has not started. */
  queued: number;
  /** Open until the last of its queued texts starts a call (or it fails); only while traced. */
  queueSpan?: Span;
}

interface RunningCall {
  startedAt: number;
  expectedSeconds: number;
}

/** A call the scheduler has formed: its texts, their padded shape, and what the cost model expects it to take. */
interface PlannedCall<T> {
  batch: Entry<T>[];
  shape: CallShape;
  expectedSeconds: number;
}

/**
 * Between requests and the model: counts cost in tokens, not texts. A model call carries up to
 * `maxBatchTokens` padded tokens and `maxBatchTexts` texts of similar length; a text joins a call
 * only while padding it costs less than a call of its own would (per the cost model). Flows take
 * turns leading a call, and each offers at most one call's worth of texts to it, so a request of
 * hundreds of long texts is cut into chunks interleaved with everyone else's. Identical texts in
 * flight are computed once. Admission uses the cost model fitted from real calls: a request is
 * refused only when it could not finish within the deadline; one that could never (on an idle
 * service) is too costly. Deadlines and hang-ups take unstarted texts out of the queue.
 *
 * Two lanes: interactive requests, and bulk work (job chunks) that runs only when no interactive
 * text waits. Calls are never mixed, so an interactive request waits at most for the bulk calls
 * already running, each bounded by the same token budget.
 */
export class TokenScheduler<T> {
  readonly costModel: CostEstimator;
  private readonly inFlight = new Map<string, Entry<T>>();
  private readonly interactive: Lane<T> = emptyLane('interactive');
  private readonly bulk: Lane<T> = emptyLane('bulk');
  private nextRequestId = 1;
  private readonly running = new Set<RunningCall>();
  private windowTimer?: unknown;
  private paddingEfficiency = PRIOR_PADDING_EFFICIENCY;

  constructor(
    private readonly run: RunCall<T>,
    private readonly options: TokenSchedulerOptions,
    private readonly clock: Clock,
    private readonly listener: SchedulerListener = {},
    costModel?: CostEstimator,
  ) {
    this.costModel = costModel ?? new CallCostModel();
  }

  /** Interactive texts waiting for a model call (not counting running ones). */
  get queuedTexts(): number {
    return this.interactive.pendingTexts;
  }

  /** Tokens of the interactive texts waiting for a model call. */
  get queuedTokens(): number {
    return this.interactive.pendingTokens;
  }

  /**
   * Seconds until the queued interactive work and the running calls are done, from the fitted cost
   * model: what a new interactive request waits for (queued bulk work waits behind it).
   */
  estimatedWaitSeconds(): number {
    const now = this.clock.now();
    let runningLeft = 0;
    for (const call of this.running) {
      runningLeft += Math.max(0, call.expectedSeconds - (now - call.startedAt) / 1000);
    }
    const { pendingTexts, pendingTokens, pendingTokenSquares } = this.interactive;
    const queued = this.queuedSeconds(pendingTexts, pendingTokens, pendingTokenSquares);
    return (runningLeft + queued) / this.options.maxConcurrentCalls;
  }

  /** Seconds of model time the deadline lets an admitted request's wait and work take. */
  get admissionLimitSeconds(): number {
    return (this.options.deadlineMs / 1000) * ADMISSION_SHARE;
  }

  /**
   * The refusal every new request would get now, or undefined: not even the cheapest request (one
   * text of [CLS], a token and [SEP]) could join the queue and finish within the deadline. Lets the
   * HTTP edge refuse before reading a body; under sustained overload the queue sits at that limit.
   */
  refusalForAnyRequest(): UnavailableError | undefined {
    const cheapest =
      this.queuedSeconds(1, CHEAPEST_TEXT_TOKENS, CHEAPEST_TEXT_TOKENS ** 2) / this.options.maxConcurrentCalls;
    const excess = this.estimatedWaitSeconds() + cheapest - this.admissionLimitSeconds;
    return excess > 0 ? overCapacity(excess) : undefined;
  }

  /**
   * Classifies `texts`, resolving with one result per text in order. Rejects with a
   * TooCostlyError when the request alone needs more than the deadline allows, an
   * UnavailableError when it cannot be served within the deadline now (queue), when the
   * deadline passes, when the client hangs up, or when a model call for one of its texts fails.
   * Bulk work is never refused and has no deadline: it waits for idle time.
   */
  submit(texts: readonly TokenizedText[], options: SubmitOptions = {}): Promise<T[]> {
    if (texts.length === 0) return Promise.resolve([]);
    if (options.signal?.aborted) return Promise.reject(cancelled());
    const lane = options.priority === 'bulk' ? this.bulk : this.interactive;
    const fresh = new Map<string, TokenizedText>();
    for (const text of texts) if (!this.inFlight.has(text.key)) fresh.set(text.key, text);
    let tokens = 0;
    let squares = 0;
    for (const { tokens: ids } of fresh.values()) {
      tokens += ids.length;
      squares += ids.length * ids.length;
    }
    const refusal = lane === this.interactive ? this.admit(fresh.size, tokens, squares) : undefined;
    if (refusal) {
      this.listener.onRefuse?.(refusalReason(refusal));
      return Promise.reject(refusal);
    }
    this.listener.onAdmit?.(texts.length, tokens);
    return new Promise<T[]>((resolve, reject) => {
      const request: PendingRequest<T> = {
        results: new Array<T>(texts.length),
        remaining: texts.length,
        settled: false,
        entries: new Set(),
        deadlineTimer: undefined,
        signal: options.signal,
        resolve,
        reject,
        spanContext: activeSpanContext(),
        queued: 0,
      };
      const queueSpan = tracer.startSpan(SPAN.queueWait);
      const flow = this.flowFor(lane, options.flow ?? `request:${this.nextRequestId++}`);
      // Shortest first within a request: its chunks then group well by length.
      const order = texts
        .map((text, index) => ({ text, index }))
        .sort((a, b) => a.text.tokens.length - b.text.tokens.length);
      for (const { text, index } of order) this.attach(request, flow, text, index);
      if (queueSpan.isRecording()) {
        queueSpan.setAttributes({ 'sentiment.queue.lane': lane.priority, 'sentiment.queue.texts': request.queued });
        if (request.queued > 0) request.queueSpan = queueSpan;
        else queueSpan.end();
      }
      // A request whose texts are all in flight already queued nothing of its own.
      this.pruneFlows();
      if (lane === this.interactive) {
        request.deadlineTimer = this.clock.setTimeout(() => this.drop(request, 'deadline'), this.options.deadlineMs);
      }
      if (options.signal) {
        request.onAbort = () => this.drop(request, 'cancelled');
        options.signal.addEventListener('abort', request.onAbort, { once: true });
      }
      this.schedule();
    });
  }

  /** The admission decision, in its span: the estimate and the decision (a refusal is not the span's failure). */
  private admit(texts: number, tokens: number, squares: number): Error | undefined {
    const span = tracer.startSpan(SPAN.admission);
    const own = this.queuedSeconds(texts, tokens, squares) / this.options.maxConcurrentCalls;
    const wait = this.estimatedWaitSeconds();
    const limit = this.admissionLimitSeconds;
    const refusal = this.refusal(tokens, own, wait, limit);
    if (span.isRecording()) {
      span.setAttributes({
        'sentiment.admission.texts': texts,
        'sentiment.admission.tokens': tokens,
        'sentiment.admission.estimated_ms': own * 1000,
        'sentiment.admission.wait_ms': wait * 1000,
        'sentiment.admission.limit_ms': limit * 1000,
        'sentiment.admission.decision': refusal ? 'refused' : 'admitted',
        ...(refusal && { 'sentiment.admission.reason': refusalReason(refusal) }),
      });
    }
    span.end();
    return refusal;
  }

  private refusal(tokens: number, own: number, wait: number, limit: number): Error | undefined {
    // Never servable, even alone on an idle service: a retry cannot help, so not a 503.
    if (own > limit || tokens > this.options.maxQueueTokens) return new TooCostlyError(own, limit);
    if (this.interactive.pendingTokens + tokens > this.options.maxQueueTokens) {
      return new UnavailableError('The service is at capacity; retry after the indicated delay.', wait, 'queue-full');
    }
    return wait + own > limit ? overCapacity(wait + own - limit) : undefined;
  }

  /** Expected model seconds for queued texts, batched as well as the measured padding allows. */
  private queuedSeconds(texts: number, tokens: number, squares: number): number {
    if (texts === 0) return 0;
    const { fixed, perKiloToken, perMegaTokenLength } = this.costModel.current;
    const calls = Math.max(1, texts / this.options.maxBatchTexts, tokens / this.options.maxBatchTokens);
    return (
      fixed * calls + (perKiloToken * tokens) / 1e3 / this.paddingEfficiency + (perMegaTokenLength * squares) / 1e6
    );
  }

  private flowFor(lane: Lane<T>, id: string): Flow<T> {
    let flow = lane.flows.get(id);
    if (!flow) {
      flow = { id, lane, pending: [] };
      lane.flows.set(id, flow);
      lane.ring.push(flow);
    }
    return flow;
  }

  private attach(request: PendingRequest<T>, flow: Flow<T>, text: TokenizedText, index: number): void {
    let entry = this.inFlight.get(text.key);
    if (!entry) {
      entry = { key: text.key, tokens: text.tokens, waiters: [], flow };
      this.inFlight.set(text.key, entry);
      flow.pending.push(entry);
      this.countPending(entry, 1);
    } else if (entry.flow && entry.flow.lane === this.bulk && flow.lane === this.interactive) {
      // A bulk text someone now waits on interactively moves to the interactive lane.
      this.unqueue(entry);
      entry.flow = flow;
      flow.pending.push(entry);
      this.countPending(entry, 1);
    }
    entry.waiters.push({ request, index });
    request.entries.add(entry);
    if (entry.flow) request.queued++;
  }

  private countPending(entry: Entry<T>, sign: 1 | -1): void {
    const lane = entry.flow!.lane;
    const length = entry.tokens.length;
    if (lane.pendingTexts === 0 && sign === 1) {
      lane.windowStartedAt = this.clock.now();
      // Its callers are the likeliest company: a lone client's text runs at once, no window.
      lane.expectedTexts = lane.lastCallTexts;
    }
    lane.pendingTexts += sign;
    lane.pendingTokens += sign * length;
    lane.pendingTokenSquares += sign * length * length;
  }

  /**
   * Starts calls while a model worker is free: interactive texts first (after their batching
   * window); bulk texts only when no interactive text waits, and at once (job chunks come in
   * whole calls' worth).
   */
  private schedule(): void {
    while (this.running.size < this.options.maxConcurrentCalls) {
      const lane = this.interactive;
      if (lane.pendingTexts === 0) {
        if (this.bulk.pendingTexts === 0) return;
        void this.runCall(this.takeBatch(this.bulk), this.bulk.priority);
        continue;
      }
      const windowLeft = lane.windowStartedAt + this.options.windowMs - this.clock.now();
      const full =
        lane.pendingTexts >= Math.min(lane.expectedTexts, this.options.maxBatchTexts) ||
        lane.pendingTokens >= this.options.maxBatchTokens;
      if (!full && windowLeft > 0) {
        this.windowTimer ??= this.clock.setTimeout(() => {
          this.windowTimer = undefined;
          this.schedule();
        }, windowLeft);
        return;
      }
      void this.runCall(this.takeBatch(lane), lane.priority);
    }
  }

  /**
   * The next call: led by the flow whose turn it is (its next text is the seed), drawn from a
   * pool where every flow offers at most one call's worth of texts, grown around the seed by
   * length while a text is cheaper padded into this call than run alone. The turn passes on after
   * the call, unless the rest of the seed's request fits in the turn (keepsTurn).
   */
  private takeBatch(lane: Lane<T>): PlannedCall<T> {
    const { maxBatchTexts, maxBatchTokens } = this.options;
    const { ring } = lane;
    // The cursor may point one past the end: at a flow that arrives next, or else the first.
    lane.cursor %= ring.length;
    const seed = ring[lane.cursor].pending[0];
    const pool: Entry<T>[] = [];
    for (let i = 0; i < ring.length; i++) {
      const flow = ring[(lane.cursor + i) % ring.length];
      let offeredTexts = 0;
      let offeredTokens = 0;
      for (const entry of flow.pending) {
        const length = entry.tokens.length;
        if (offeredTexts === maxBatchTexts || (offeredTexts > 0 && offeredTokens + length > maxBatchTokens)) break;
        pool.push(entry);
        offeredTexts++;
        offeredTokens += length;
      }
    }
    const sorted = pool.sort((a, b) => a.tokens.length - b.tokens.length);
    let low = sorted.indexOf(seed);
    let high = low;
    let shape: CallShape = { texts: 1, paddedLength: seed.tokens.length };
    for (;;) {
      const left = low > 0 ? this.growth(shape, sorted[low - 1]) : undefined;
      const right = high < sorted.length - 1 ? this.growth(shape, sorted[high + 1]) : undefined;
      const best = left && (!right || left.marginal <= right.marginal) ? left : right;
      if (!best) break;
      if (best === left) low--;
      else high++;
      shape = best.shape;
    }
    const batch = sorted.slice(low, high + 1);
    const leader = ring[lane.cursor];
    for (const entry of batch) this.unqueue(entry);
    const expectedSeconds = this.costModel.seconds(shape);
    lane.turnSeconds += expectedSeconds;
    if (!this.keepsTurn(lane, leader, seed)) {
      lane.cursor++;
      lane.turnSeconds = 0;
    }
    this.pruneFlows();
    if (lane === this.interactive && this.windowTimer !== undefined) {
      this.clock.clearTimeout(this.windowTimer);
      this.windowTimer = undefined;
    }
    return { batch, shape, expectedSeconds };
  }

  /**
   * Whether the leader leads the next call too: when the rest of the seed's request would still end
   * within the model time of the costliest call the budget allows (the turn so far included). An
   * ordinary request of texts of several lengths, which needs a call per length, then finishes in one
   * turn instead of one call per round of everyone else's (the tail of mixed-length traffic), while a
   * request larger than a call still gets one call a turn, so no one waits for more than about one
   * full call.
   */
  private keepsTurn(lane: Lane<T>, leader: Flow<T>, seed: Entry<T>): boolean {
    const request = seed.waiters[0]?.request;
    if (!request) return false;
    let texts = 0;
    let paddedLength = 0;
    for (const entry of request.entries) {
      if (entry.flow !== leader) continue;
      texts++;
      paddedLength = Math.max(paddedLength, entry.tokens.length);
    }
    if (texts === 0) return false;
    // The costliest call the budget allows: one sequence of the whole budget (attention grows with length).
    const turn = this.costModel.seconds({ texts: 1, paddedLength: this.options.maxBatchTokens });
    return lane.turnSeconds + this.costModel.seconds({ texts, paddedLength }) <= turn;
  }

  /** The call grown by `entry`, if it fits and padding it in is cheaper than its own call. */
  private growth(shape: CallShape, entry: Entry<T>): { shape: CallShape; marginal: number } | undefined {
    const grown: CallShape = {
      texts: shape.texts + 1,
      paddedLength: Math.max(shape.paddedLength, entry.tokens.length),
    };
    if (grown.texts > this.options.maxBatchTexts) return undefined;
    if (grown.texts * grown.paddedLength > this.options.maxBatchTokens) return undefined;
    const marginal = this.costModel.seconds(grown) - this.costModel.seconds(shape);
    const alone = this.costModel.seconds({ texts: 1, paddedLength: entry.tokens.length });
    // At equal cost it joins: one call fewer saves the dispatch the cost model cannot see
    // (a texts-of-one-length call costs the same per text, whatever its size, when `fixed` fits 0).
    return marginal <= alone * (1 + JOIN_TOLERANCE) ? { shape: grown, marginal } : undefined;
  }

  private unqueue(entry: Entry<T>): void {
    const flow = entry.flow;
    if (!flow) return;
    flow.pending.splice(flow.pending.indexOf(entry), 1);
    this.countPending(entry, -1);
    entry.flow = undefined;
  }

  /**
   * Drops flows with nothing queued, keeping the cursor on the flow whose turn is next. New flows
   * join at the end of the ring, so one that arrives when the cursor is past the end leads next.
   */
  private pruneFlows(): void {
    for (const lane of [this.interactive, this.bulk]) {
      for (let i = lane.ring.length - 1; i >= 0; i--) {
        if (lane.ring[i].pending.length > 0) continue;
        lane.flows.delete(lane.ring[i].id);
        lane.ring.splice(i, 1);
        if (i < lane.cursor) lane.cursor--;
      }
    }
  }

  private async runCall({ batch, shape, expectedSeconds }: PlannedCall<T>, lane: Priority): Promise<void> {
    const call: RunningCall = { startedAt: this.clock.now(), expectedSeconds };
    this.running.add(call);
    const realTokens = batch.reduce((sum, entry) => sum + entry.tokens.length, 0);
    const paddedTokens = shape.texts * shape.paddedLength;
    const span = this.startCallSpan(batch, lane, realTokens, paddedTokens);
    let outcome: { results: T[] } | { error: Error };
    try {
      // In no request's context (trace or log lines); the span active for the call, when it records,
      // for the model's side to add to.
      const callContext = span.isRecording() ? trace.setSpan(ROOT_CONTEXT, span) : ROOT_CONTEXT;
      const results = await context.with(callContext, () =>
        outsideAnyRequest(() =>
          this.run(
            batch.map((entry) => entry.tokens),
            call.expectedSeconds,
          ),
        ),
      );
      if (results.length !== batch.length)
        throw new Error(`model returned ${results.length} results for ${batch.length} texts`);
      outcome = { results };
    } catch (error) {
      outcome = { error: error as Error };
    }
    const seconds = (this.clock.now() - call.startedAt) / 1000;
    this.running.delete(call);
    if ('error' in outcome) recordFailure(span, outcome.error);
    span.end();
    const ok = 'results' in outcome;
    if (ok) {
      this.costModel.observe(shape, seconds);
      this.paddingEfficiency =
        this.paddingEfficiency * (1 - PADDING_EFFICIENCY_WEIGHT) +
        (realTokens / paddedTokens) * PADDING_EFFICIENCY_WEIGHT;
    }
    this.listener.onCall?.({ texts: batch.length, realTokens, paddedTokens, seconds, ok });
    // The callers answered now are the likeliest company for the texts that waited through this
    // call: the window opens again until as many texts as this call answered have joined them, so
    // the queue does not run in halves (8 one-text clients would otherwise alternate calls of 4).
    const { interactive } = this;
    if (lane === 'interactive') {
      interactive.lastCallTexts = batch.length;
      if (interactive.pendingTexts > 0) {
        interactive.windowStartedAt = this.clock.now();
        interactive.expectedTexts = interactive.pendingTexts + batch.length;
      }
    }
    batch.forEach((entry, i) => {
      this.inFlight.delete(entry.key);
      for (const waiter of entry.waiters) {
        if ('results' in outcome) this.fulfil(waiter, outcome.results[i]);
        else this.fail(waiter.request, modelFailure(outcome.error));
      }
    });
    this.schedule();
  }

  /**
   * The model call's span. A call serves texts of several requests (and, coalesced, several waiting
   * for one text), so it is no one request's child: a root span, with a link to the span each request
   * was queued from, as OpenTelemetry models a batch. As a child of one request it would sit in that
   * request's trace alone, share its sampling decision, and its time would read as that request's.
   * Every request whose last queued text starts here ends its queue wait, linked to this call.
   */
  private startCallSpan(batch: Entry<T>[], lane: Priority, realTokens: number, paddedTokens: number): Span {
    const waiting = new Map<PendingRequest<T>, number>();
    for (const entry of batch) {
      for (const { request } of entry.waiters) waiting.set(request, (waiting.get(request) ?? 0) + 1);
    }
    // Links exist only where requests were traced, so an untraced call allocates none.
    const links: Link[] = [];
    for (const [request, texts] of waiting) {
      if (request.spanContext) {
        links.push({ context: request.spanContext, attributes: { 'sentiment.model_call.request_texts': texts } });
      }
    }
    const span = tracer.startSpan(SPAN.modelCall, {
      root: true,
      links,
      attributes: {
        'sentiment.model_call.lane': lane,
        'sentiment.model_call.texts': batch.length,
        'sentiment.model_call.real_tokens': realTokens,
        'sentiment.model_call.padded_tokens': paddedTokens,
      },
    });
    for (const [request, texts] of waiting) {
      request.queued -= texts;
      const queueSpan = request.queueSpan;
      if (!queueSpan) continue;
      queueSpan.addLink({ context: span.spanContext() });
      if (request.queued === 0) {
        queueSpan.end();
        request.queueSpan = undefined;
      }
    }
    return span;
  }

  private fulfil({ request, index }: Waiter<T>, result: T): void {
    if (request.settled) return;
    request.results[index] = result;
    if (--request.remaining === 0) {
      this.settle(request);
      request.resolve(request.results);
    }
  }

  private fail(request: PendingRequest<T>, error: Error): void {
    if (request.settled) return;
    this.settle(request);
    if (request.queueSpan) {
      // Dropped or failed with texts still queued; a client that left is no failure of ours.
      const reason = error instanceof UnavailableError ? error.reason : error.name;
      if (reason === 'cancelled') request.queueSpan.setAttribute('sentiment.queue.dropped', reason);
      else recordFailure(request.queueSpan, error, reason);
      request.queueSpan.end();
      request.queueSpan = undefined;
    }
    request.reject(error);
  }

  private settle(request: PendingRequest<T>): void {
    request.settled = true;
    this.clock.clearTimeout(request.deadlineTimer);
    if (request.onAbort) request.signal?.removeEventListener('abort', request.onAbort);
  }

  /** Deadline passed or client gone: answer now, and drop its texts nobody else waits for that have not started. */
  private drop(request: PendingRequest<T>, reason: DropReason): void {
    if (request.settled) return;
    this.fail(
      request,
      reason === 'deadline'
        ? new UnavailableError(
            'The request could not be served within REQUEST_TIMEOUT_MS.',
            this.estimatedWaitSeconds(),
            'request-timeout',
          )
        : cancelled(),
    );
    let dropped = 0;
    for (const entry of request.entries) {
      entry.waiters = entry.waiters.filter((waiter) => waiter.request !== request);
      if (entry.waiters.length === 0 && entry.flow) {
        this.unqueue(entry);
        this.inFlight.delete(entry.key);
        dropped++;
      }
    }
    this.pruneFlows();
    this.listener.onDrop?.(reason, dropped);
  }
}

function overCapacity(excessSeconds: number): UnavailableError {
  return new UnavailableError(
    'The service cannot answer this request within its deadline now; retry after the indicated delay.',
    excessSeconds,
    'over-capacity',
  );
}

function refusalReason(error: Error): RefusalReason {
  if (error instanceof TooCostlyError) return 'too-costly';
  return error instanceof UnavailableError && error.reason === 'queue-full' ? 'queue-full' : 'over-capacity';
}

function cancelled(): UnavailableError {
  return new UnavailableError('The client closed the request.', RETRY_AT_ONCE_SECONDS, 'cancelled');
}

function modelFailure(cause: Error): UnavailableError {
  const error = new UnavailableError(
    'The model failed on this batch; retry the request.',
    RETRY_AT_ONCE_SECONDS,
    'inference-failed',
  );
  error.cause = cause;
  return error;
}
