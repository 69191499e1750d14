// k6 run -e RATE=40 k6/scenarios/stress.ts: steps the arrival rate to 8× RATE. Past capacity the
// service must shed load with fast 503s while the requests it serves stay within 1 s.
import type { Options } from 'k6/options';
import { TARGET_RATE } from '../lib/env.ts';
import { acceptShedding, predict, requireReady } from '../lib/predict.ts';
import { stressShape } from '../lib/shapes.ts';
import { OVERLOAD_THRESHOLDS } from '../lib/thresholds.ts';

acceptShedding();

export const options: Options = {
  scenarios: { stress: stressShape(TARGET_RATE) },
  thresholds: OVERLOAD_THRESHOLDS,
};

export function setup(): void {
  requireReady();
}

export default function (): void {
  predict({ allowShedding: true });
}
