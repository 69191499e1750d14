// k6 run -e RATE=40 -e HOLD=2m k6/scenarios/load.ts: ramps the arrival rate up to RATE requests/s,
// holds it, ramps down. Expected traffic: no errors, bounded latency.
import type { Options } from 'k6/options';
import { TARGET_RATE, textFromEnv } from '../lib/env.ts';
import { predict, requireReady } from '../lib/predict.ts';
import { loadShape } from '../lib/shapes.ts';
import { STEADY_THRESHOLDS } from '../lib/thresholds.ts';

export const options: Options = {
  scenarios: { load: loadShape(TARGET_RATE, textFromEnv('HOLD', '2m')) },
  thresholds: STEADY_THRESHOLDS,
};

export function setup(): void {
  requireReady();
}

export default function (): void {
  predict({ allowShedding: false });
}
