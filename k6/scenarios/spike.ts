// k6 run -e RATE=40 -e PEAK_RATE=200 k6/scenarios/spike.ts: steady traffic, a sudden jump to
// PEAK_RATE (default 5× RATE) for 30 s, then steady again. Sheds with fast 503s, then recovers.
import type { Options } from 'k6/options';
import { numberFromEnv, TARGET_RATE } from '../lib/env.ts';
import { acceptShedding, predict, requireReady } from '../lib/predict.ts';
import { spikeShape } from '../lib/shapes.ts';
import { OVERLOAD_THRESHOLDS } from '../lib/thresholds.ts';

acceptShedding();

export const options: Options = {
  scenarios: { spike: spikeShape(TARGET_RATE, numberFromEnv('PEAK_RATE', TARGET_RATE * 5)) },
  thresholds: OVERLOAD_THRESHOLDS,
};

export function setup(): void {
  requireReady();
}

export default function (): void {
  predict({ allowShedding: true });
}
