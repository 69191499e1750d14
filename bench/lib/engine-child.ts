// Child process of the benchmark: the engine ceiling. Loads the model in-process with the
// service's own ModelRuntime (tokenizer + ONNX Runtime, same thread count as the service) and
// times classify() at each batch size. Input and output are JSON (argv[2], last stdout line).
import { PayloadGenerator } from '../../k6/lib/payload.js';
import type { ModelDtype } from '../../src/config/settings.js';
import { usableCpuCount } from '../../src/model/cpu-budget.js';
import { ModelRuntime } from '../../src/model/model-runtime.js';

export interface EngineInput {
  modelDir: string;
  modelId: string;
  dtype: ModelDtype;
  batchSizes: number[];
  secondsPerBatchSize: number;
}

export interface EngineResult {
  threads: number;
  loadTimeMs: number;
  batches: { batchSize: number; calls: number; msPerCall: number; sentencesPerSecond: number }[];
}

/** Calls at each batch size before timing: the first runs of a new shape allocate buffers. */
const WARM_UP_CALLS = 2;
const MIN_TIMED_CALLS = 3;

async function main(): Promise<void> {
  const input = JSON.parse(process.argv[2]) as EngineInput;
  const threads = usableCpuCount();
  const runtime = await ModelRuntime.load(
    {
      modelId: input.modelId,
      modelDir: input.modelDir,
      modelDtype: input.dtype,
      allowRemoteModels: false,
      modelFallback: 'none',
      baselinePreset: 'base',
      threads,
    },
    (level, fields) => process.stderr.write(`${JSON.stringify({ level, ...fields })}\n`),
  );
  const result: EngineResult = { threads, loadTimeMs: runtime.info.loadTimeMs, batches: [] };
  for (const batchSize of input.batchSizes) {
    // Unique sentences, as cache misses would reach the model.
    const payload = new PayloadGenerator({ batchSize, cacheHitRatio: 0, poolSize: 1 });
    for (let i = 0; i < WARM_UP_CALLS; i++) await runtime.classify(payload.body().text);
    let calls = 0;
    let busyMs = 0;
    while (calls < MIN_TIMED_CALLS || busyMs < input.secondsPerBatchSize * 1000) {
      const texts = payload.body().text;
      const started = performance.now();
      await runtime.classify(texts);
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
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

await main();
