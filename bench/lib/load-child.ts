// Child process of the benchmark: runs one autocannon load (spec as JSON in argv[2]) and prints
// its summary as JSON, so the load generator never shares an event loop with the harness.
// The model's own counters are read right around the load, so the window is the load's; served
// texts' tokens are counted after it, with the model's tokenizer, when `countTokens` names it.
import { runLoad, type LoadSpec } from './http-load.js';
import { summarizeLoad } from './load-summary.js';
import { modelActivity, readModelCounters } from './model-metrics.js';
import { loadTokenCounter, sum, type TokenizerLocation } from './token-count.js';

export type LoadChildInput = LoadSpec & { countTokens?: TokenizerLocation };

const spec = JSON.parse(process.argv[2]) as LoadChildInput;
const before = await readModelCounters(spec.baseUrl);
const samples = await runLoad({ ...spec, keepServedTexts: spec.countTokens !== undefined });
const after = await readModelCounters(spec.baseUrl);
const realTokens =
  spec.countTokens && samples.servedTexts
    ? sum((await loadTokenCounter(spec.countTokens))(samples.servedTexts))
    : undefined;
const summary = summarizeLoad(samples, before && after && modelActivity(before, after), realTokens);
process.stdout.write(`${JSON.stringify(summary)}\n`);
