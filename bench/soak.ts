// npm run soak [-- --duration 600] [--warmup 60] [--sample-every 5] [--load 0.5] [--preset base|tiny]
//              [--dtype fp32|q8] [--models-dir ./models] [--base-url http://host:port --rate 40]
//              [--out file.json] [--skip-build]
// Runs a mixed load for --duration seconds (default 10 minutes) at --load × the measured capacity
// against a service of its own (built server, own Redis), or at --rate against --base-url, and
// samples the service's /metrics. Passes when RSS after warm-up grows at most 10 %, every
// event-loop lag p99 stays under 50 ms, no request fails, the Redis circuit breaker never changes
// state and malformed bodies get 422.
// Writes every sample to bench/results/soak-<date>.json; exits 1 when a check fails. See docs/SOAK.md.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { describeMachine } from './lib/machine.js';
import { buildService, ensureBaseline } from './lib/prepare.js';
import { resultStamp } from './lib/result-stamp.js';
import { runSoak, soakOwnService, type SoakResult } from './lib/soak.js';

const log = (message: string) => process.stderr.write(`[soak] ${message}\n`);

function positive(name: string, raw: string): number {
  const value = Number(raw);
  if (!(value > 0)) throw new Error(`--${name} must be a positive number (got ${raw})`);
  return value;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '600' },
      warmup: { type: 'string', default: '60' },
      'sample-every': { type: 'string', default: '5' },
      load: { type: 'string', default: '0.5' },
      preset: { type: 'string', default: 'base' },
      dtype: { type: 'string', default: 'fp32' },
      'models-dir': { type: 'string', default: './models' },
      'base-url': { type: 'string' },
      rate: { type: 'string' },
      out: { type: 'string' },
      'skip-build': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const timing = {
    durationSeconds: positive('duration', values.duration),
    warmupSeconds: positive('warmup', values.warmup),
    sampleEverySeconds: positive('sample-every', values['sample-every']),
    log,
  };
  const machine = describeMachine();
  const startedAt = new Date();
  let result: SoakResult;
  if (values['base-url']) {
    if (!values.rate) throw new Error('--base-url needs --rate (requests/s): the soak cannot measure a shared service');
    const baseUrl = values['base-url'].replace(/\/+$/, '');
    result = await runSoak({ ...timing, baseUrl, rate: positive('rate', values.rate) });
  } else {
    const { preset, dtype } = values;
    if (preset !== 'base' && preset !== 'tiny') throw new Error(`--preset takes base or tiny, not ${preset}`);
    if (dtype !== 'fp32' && dtype !== 'q8') throw new Error(`--dtype takes fp32 or q8, not ${dtype}`);
    if (!values['skip-build']) buildService(log);
    const modelDir = resolve(values['models-dir']);
    const modelId = ensureBaseline(modelDir, preset, log);
    result = await soakOwnService({ ...timing, modelDir, modelId, dtype, load: positive('load', values.load) });
  }

  const out = values.out ?? join('bench', 'results', `soak-${resultStamp(startedAt)}.json`);
  mkdirSync(dirname(out), { recursive: true });
  const record = {
    startedAt: startedAt.toISOString(),
    command: `npm run soak -- ${process.argv.slice(2).join(' ')}`.trim(),
    machine,
    ...result,
  };
  writeFileSync(out, `${JSON.stringify(record, null, 2)}\n`);
  for (const check of result.checks) {
    const measured = Number.isInteger(check.measured) ? check.measured : check.measured.toFixed(3);
    log(`${check.passed ? '✓' : '✗'} ${check.name}: ${measured} (limit ${check.limit})`);
  }
  log(`${result.passed ? 'soak passed' : 'soak FAILED'}; every sample in ${out}`);
  if (!result.passed) process.exitCode = 1;
}

main().catch((error: unknown) => {
  log(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
});
