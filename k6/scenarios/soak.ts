// k6 run -e RATE=40 -e DURATION=1h k6/scenarios/soak.ts: a constant rate for a long time, where
// memory leaks, cache growth and slow drifts in latency show up.
import type { Options } from 'k6/options';
import { TARGET_RATE, textFromEnv } from '../lib/env.ts';
import { predict, requireReady } from '../lib/predict.ts';
import { soakShape } from '../lib/shapes.ts';
import { STEADY_THRESHOLDS } from '../lib/thresholds.ts';

export const options: Options = {
  scenarios: { soak: soakShape(TARGET_RATE, textFromEnv('DURATION', '1h')) },
  thresholds: STEADY_THRESHOLDS,
};

export function setup(): void {
  requireReady();
}

export default function (): void {
  predict({ allowShedding: false });
}
