/**
 * V8's young generation, where each request's short-lived objects live until a scavenge, grows by
 * default to ~100 MB in the event loop's heap under load: after the model's weights, the largest
 * part of the service's memory. With 4 MB semi-spaces the peak under ordinary load is ~130 MB lower
 * at the same throughput (docs/PERFORMANCE.md, issue #26).
 */
export const HEAP_FLAGS = ['--max-semi-space-size=4'] as const;

const SEMI_SPACE_FLAG = /^--max[-_]semi[-_]space[-_]size\b/;

/**
 * A V8 heap flag takes effect only when the process starts, so the entry point executes itself again
 * with the flags (`execve`: same PID, same standard streams, nothing started yet), unless the start
 * command or NODE_OPTIONS already sizes the young generation. This keeps one start command,
 * `node dist/main.js`, for npm start, the image, the tests and the benchmarks.
 */
export function restartWithHeapFlags(): void {
  const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  if (given.some((flag) => SEMI_SPACE_FLAG.test(flag))) return;
  process.execve?.(process.execPath, [process.execPath, ...HEAP_FLAGS, ...process.execArgv, ...process.argv.slice(1)]);
}
