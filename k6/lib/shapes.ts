// Load shapes of the scenarios as k6 scenario objects. The smoke shape is plain data that
// bench/load-smoke.ts replays with autocannon; the others are sized from a target rate
// (requests/s) that each script reads from the environment. No imports: k6 and Node load this file.

export interface ConstantArrivalRateShape {
  executor: 'constant-arrival-rate';
  rate: number;
  timeUnit: string;
  duration: string;
  preAllocatedVUs: number;
  maxVUs: number;
}

export interface RampingArrivalRateShape {
  executor: 'ramping-arrival-rate';
  startRate: number;
  timeUnit: string;
  preAllocatedVUs: number;
  maxVUs: number;
  stages: { duration: string; target: number }[];
}

/** A short, light run that proves the service answers correctly under a little concurrency. */
export const SMOKE_SHAPE: ConstantArrivalRateShape = {
  executor: 'constant-arrival-rate',
  rate: 10,
  timeUnit: '1s',
  duration: '10s',
  preAllocatedVUs: 2,
  maxVUs: 10,
};

/** The FastAPI original's whole autoscaled cluster topped out at about this many requests/s. */
export const DEFAULT_TARGET_RATE = 40;

/** VUs an arrival-rate scenario may need: one per request in flight, latency up to `seconds`. */
function vusFor(rate: number, seconds: number): { preAllocatedVUs: number; maxVUs: number } {
  return { preAllocatedVUs: Math.max(2, Math.ceil(rate / 10)), maxVUs: Math.max(10, Math.ceil(rate * seconds)) };
}

/** Ramp up to the target rate, hold it, ramp down. */
export function loadShape(rate: number, hold = '2m'): RampingArrivalRateShape {
  return {
    executor: 'ramping-arrival-rate',
    startRate: 0,
    timeUnit: '1s',
    ...vusFor(rate, 1),
    stages: [
      { duration: '30s', target: rate },
      { duration: hold, target: rate },
      { duration: '15s', target: 0 },
    ],
  };
}

/** Steps to 2×, 4× and 8× the target rate, to find where the service starts shedding load. */
export function stressShape(rate: number): RampingArrivalRateShape {
  const steps = [1, 2, 4, 8].flatMap((factor) => [
    { duration: '20s', target: rate * factor },
    { duration: '1m', target: rate * factor },
  ]);
  return {
    executor: 'ramping-arrival-rate',
    startRate: 0,
    timeUnit: '1s',
    ...vusFor(rate * 8, 1),
    stages: [...steps, { duration: '20s', target: 0 }],
  };
}

/** Steady traffic, a sudden jump to `peakRate`, then the same steady traffic to watch recovery. */
export function spikeShape(rate: number, peakRate: number): RampingArrivalRateShape {
  return {
    executor: 'ramping-arrival-rate',
    startRate: rate,
    timeUnit: '1s',
    ...vusFor(peakRate, 1),
    stages: [
      { duration: '30s', target: rate },
      { duration: '5s', target: peakRate },
      { duration: '30s', target: peakRate },
      { duration: '5s', target: rate },
      { duration: '1m', target: rate },
    ],
  };
}

/** A constant, moderate rate for a long time: leaks and slow drifts show up here. */
export function soakShape(rate: number, duration = '1h'): ConstantArrivalRateShape {
  return { executor: 'constant-arrival-rate', rate, timeUnit: '1s', duration, ...vusFor(rate, 1) };
}
