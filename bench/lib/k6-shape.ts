import type { ConstantArrivalRateShape } from '../../k6/lib/shapes.js';

const UNIT_SECONDS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600 };

/** Seconds in a k6 duration such as `10s`, `1m30s` or `500ms`. */
export function k6DurationSeconds(duration: string): number {
  const parts = [...duration.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((part) => part[0]).join('') !== duration.trim()) {
    throw new Error(`not a k6 duration: ${JSON.stringify(duration)}`);
  }
  return parts.reduce((total, [, amount, unit]) => total + Number(amount) * UNIT_SECONDS[unit], 0);
}

/** A constant-arrival-rate scenario as autocannon parameters: its rate, its length, its VUs as connections. */
export function arrivalRateAsLoad(shape: ConstantArrivalRateShape): {
  rate: number;
  durationSeconds: number;
  connections: number;
} {
  if (shape.executor !== 'constant-arrival-rate') {
    throw new Error(`only constant-arrival-rate shapes can be replayed, not ${String(shape.executor)}`);
  }
  return {
    rate: shape.rate / k6DurationSeconds(shape.timeUnit),
    durationSeconds: k6DurationSeconds(shape.duration),
    connections: shape.maxVUs,
  };
}
