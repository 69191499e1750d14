// The k6 side's settings, from `k6 run -e NAME=value` or the environment. Only the k6 scripts
// import this file (it reads k6's `__ENV`); the shared data modules stay free of k6 globals.
import { checkPayloadOptions, DEFAULT_PAYLOAD, type PayloadOptions } from './payload.ts';
import { DEFAULT_TARGET_RATE } from './shapes.ts';

export function numberFromEnv(name: string, fallback: number): number {
  const raw = __ENV[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value)) throw new Error(`${name} must be a number (got ${JSON.stringify(raw)})`);
  return value;
}

export function textFromEnv(name: string, fallback: string): string {
  const raw = __ENV[name];
  return raw === undefined || raw === '' ? fallback : raw;
}

/**
 * An API key for a service with `API_KEYS`, sent on every request as `Authorization: Bearer`;
 * unset or empty sends none. Give it through the environment (`API_KEY=… k6 run`), not `-e`, so it
 * stays out of the shell history and the process list.
 */
export const API_KEY = textFromEnv('API_KEY', '');

/** Where the service listens, without a trailing slash. */
export const BASE_URL = textFromEnv('BASE_URL', 'http://localhost:8000').replace(/\/+$/, '');

/** Target requests/s of the load, stress, spike and soak shapes. */
export const TARGET_RATE = numberFromEnv('RATE', DEFAULT_TARGET_RATE);

export const PAYLOAD: PayloadOptions = checkPayloadOptions({
  batchSize: numberFromEnv('BATCH_SIZE', DEFAULT_PAYLOAD.batchSize),
  cacheHitRatio: numberFromEnv('CACHE_HIT_RATIO', DEFAULT_PAYLOAD.cacheHitRatio),
  poolSize: numberFromEnv('POOL_SIZE', DEFAULT_PAYLOAD.poolSize),
});
