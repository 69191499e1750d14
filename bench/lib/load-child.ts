// Child process of the benchmark: runs one autocannon load (spec as JSON in argv[2]) and prints
// its summary as JSON, so the load generator never shares an event loop with the harness.
// The model's own counters are read right around the load, so the window is the load's.
import { runLoad, type LoadSpec } from './http-load.js';
import { summarizeLoad } from './load-summary.js';
import { modelActivity, readModelCounters } from './model-metrics.js';

const spec = JSON.parse(process.argv[2]) as LoadSpec;
const before = await readModelCounters(spec.baseUrl);
const samples = await runLoad(spec);
const after = await readModelCounters(spec.baseUrl);
const summary = summarizeLoad(samples, before && after && modelActivity(before, after));
process.stdout.write(`${JSON.stringify(summary)}\n`);
