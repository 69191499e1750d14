import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Waits for `work` to settle (resolve or reject), for at most `ms`: true when it settled in time.
 * Never throws, and leaves no timer behind once `work` has settled.
 */
export async function settleWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  const deadline = new AbortController();
  const settled = work.then(
    () => true,
    () => true,
  );
  const late = sleep(ms, false, { signal: deadline.signal }).catch(() => false);
  try {
    return await Promise.race([settled, late]);
  } finally {
    deadline.abort();
  }
}
