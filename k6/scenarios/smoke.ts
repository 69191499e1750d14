// k6 run k6/scenarios/smoke.ts: a light constant rate for a few seconds; fails on any threshold.
// bench/load-smoke.ts (`npm run load:smoke`) replays this same shape and thresholds with autocannon.
import type { Options } from 'k6/options';
import { predict, requireReady } from '../lib/predict.ts';
import { SMOKE_SHAPE } from '../lib/shapes.ts';
import { SMOKE_THRESHOLDS } from '../lib/thresholds.ts';

export const options: Options = {
  scenarios: { smoke: SMOKE_SHAPE },
  thresholds: SMOKE_THRESHOLDS,
};

export function setup(): void {
  requireReady();
}

export default function (): void {
  predict({ allowShedding: false });
}
