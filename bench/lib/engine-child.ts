// Child process of the benchmark: the engine ceiling. Loads the model in-process with the
// service's own model session (tokenizer + ONNX Runtime, same thread count as the service) and
// times classify() at each batch size; then, on the mixed-length workload's own texts, what it does
// with ideal scheduling: texts sorted by length and cut into batches of at most a token budget
// (batch size × longest text). Input and output are JSON (argv[2], last stdout line).
import { PayloadGenerator } from '../../k6/lib/payload.js';
import type { ModelDtype } from '../../src/config/settings.js';
import { usableCpuCount } from '../../src/model/cpu-budget.js';
import { loadModelRuntime } from '../../src/model/model-runtime.js';
import type { ModelSession } from '../../src/model/model-session.js';
import { MixedLengthGenerator, type MixedLengthOptions } from './texts.js';
import { loadTokenCounter, sum, tokenBudgetBatches } from './token-count.js';

export interface EngineInput {
  modelDir: string;
  modelId: string;
  dtype: ModelDtype;
  batchSizes: number[];
  secondsPerBatchSize: number;
  /** Call shapes (texts × tokens each) to time on token sequences: what a call of each costs. */
  shapes?: { texts: number; tokens: number }[];
  /** ONNX Runtime intra-op threads; default the CPUs the process may use, as the service. */
  threads?: number;
  /** The first `texts` texts of the mixed-length workload, batched by token budget. */
  mixed?: { options: MixedLengthOptions; texts: number; tokenBudget: number; maxTexts: number };
}

export interface TokenBudgetResult {
  texts: number;
  calls: number;
  /** Padded tokens per call at most (batch size × longest text's tokens). */
  tokenBudget: number;
  maxTexts: number;
  realTokens: number;
  paddedTokens: number;
  /** realTokens ÷ paddedTokens. */
  paddingEfficiency: number;
  seconds: number;
  realTokensPerSecond: number;
  sentencesPerSecond: number;
}

export interface ShapeResult {
  texts: number;
  tokens: number;
  msPerCall: number;
  /** Padded tokens per second: texts × tokens ÷ call time. */
  tokensPerSecond: number;
}

export interface EngineResult {
  threads: number;
  shapes?: ShapeResult[];
  loadTimeMs: number;
  batches: { batchSize: number; calls: number; msPerCall: number; sentencesPerSecond: number }[];
  mixed?: TokenBudgetResult;
}

/** Calls at each batch size before timing: the first runs of a new shape allocate buffers. */
const WARM_UP_CALLS = 2;
const MIN_TIMED_CALLS = 3;

async function main(): Promise<void> {
  const input = JSON.parse(process.argv[2]) as EngineInput;
  const threads = input.threads ?? usableCpuCount();
  const { session } = await loadModelRuntime(
    {
      modelId: input.modelId,
      modelDir: input.modelDir,
      modelDtype: input.dtype,
      allowRemoteModels: false,
      hubEndpoint: 'https://huggingface.co',
      modelRevision: 'main',
      modelFallback: 'none',
      baselinePreset: 'base',
      threads,
    },
    (level, fields) => process.stderr.write(`${JSON.stringify({ level, ...fields })}\n`),
  );
  const result: EngineResult = { threads, loadTimeMs: session.info.loadTimeMs, batches: [] };
  for (const batchSize of input.batchSizes) {
    // Unique sentences, as cache misses would reach the model.
    const payload = new PayloadGenerator({ batchSize, cacheHitRatio: 0, poolSize: 1 });
    for (let i = 0; i < WARM_UP_CALLS; i++) await session.classify(payload.body().text);
    let calls = 0;
    let busyMs = 0;
    while (calls < MIN_TIMED_CALLS || busyMs < input.secondsPerBatchSize * 1000) {
      const texts = payload.body().text;
      const started = performance.now();
      await session.classify(texts);
      busyMs += performance.now() - started;
      calls++;
    }
    result.batches.push({
      batchSize,
      calls,
      msPerCall: busyMs / calls,
      sentencesPerSecond: (calls * batchSize) / (busyMs / 1000),
    });
  }
  if (input.mixed) result.mixed = await measureTokenBudget(session, input, input.mixed);
  if (input.shapes) result.shapes = await measureShapes(session, input.shapes, input.secondsPerBatchSize);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/** Times model calls of given shapes on token sequences, as the scheduler sends them. */
async function measureShapes(
  session: ModelSession,
  shapes: NonNullable<EngineInput['shapes']>,
  seconds: number,
): Promise<ShapeResult[]> {
  const results: ShapeResult[] = [];
  for (const { texts, tokens } of shapes) {
    // [CLS] the the … [SEP]: the time of a call depends on its shape, not on which tokens.
    const sequence = new Int32Array(tokens).fill(1996);
    sequence[0] = 101;
    sequence[tokens - 1] = 102;
    const batch = Array.from({ length: texts }, () => sequence);
    for (let i = 0; i < WARM_UP_CALLS; i++) await session.classifySequences(batch);
    let calls = 0;
    let busyMs = 0;
    while (calls < MIN_TIMED_CALLS || busyMs < seconds * 1000) {
      const started = performance.now();
      await session.classifySequences(batch);
      busyMs += performance.now() - started;
      calls++;
    }
    const msPerCall = busyMs / calls;
    results.push({ texts, tokens, msPerCall, tokensPerSecond: (texts * tokens * 1000) / msPerCall });
  }
  return results;
}

async function measureTokenBudget(
  session: ModelSession,
  input: EngineInput,
  mixed: NonNullable<EngineInput['mixed']>,
): Promise<TokenBudgetResult> {
  const texts = new MixedLengthGenerator(mixed.options).texts(mixed.texts);
  const tokens = (await loadTokenCounter(input))(texts);
  const batches = tokenBudgetBatches(tokens, mixed.tokenBudget, mixed.maxTexts);
  // The largest shape once untimed: ONNX Runtime grows its buffers on the first call of a size.
  const longest = batches[batches.length - 1];
  for (let i = 0; i < WARM_UP_CALLS; i++) await session.classify(longest.map((t) => texts[t]));
  let busyMs = 0;
  let paddedTokens = 0;
  for (const batch of batches) {
    paddedTokens += batch.length * Math.max(...batch.map((i) => tokens[i]));
    const started = performance.now();
    await session.classify(batch.map((i) => texts[i]));
    busyMs += performance.now() - started;
  }
  const realTokens = sum(tokens);
  const seconds = busyMs / 1000;
  return {
    texts: texts.length,
    calls: batches.length,
    tokenBudget: mixed.tokenBudget,
    maxTexts: mixed.maxTexts,
    realTokens,
    paddedTokens,
    paddingEfficiency: realTokens / paddedTokens,
    seconds,
    realTokensPerSecond: realTokens / seconds,
    sentencesPerSecond: texts.length / seconds,
  };
}

await main();
