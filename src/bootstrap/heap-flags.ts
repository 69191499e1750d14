/**
 * V8's young generation, where each request's short-lived objects live until a scavenge, grows by
 * default to ~100 MB in the event loop's heap under load: after the model's weights, the largest
 * part of the service's memory. With 4 MB semi-spaces the peak under ordinary load is ~130 MB lower
 * at the same throughput (docs/PERFORMANCE.md, issue #26).
 */
export const HEAP_FLAGS = ['--max-semi-space-size=4'] as const;

/**
 * glibc's malloc serves a block of 128 KiB or more from a mapping of its own, returned to the system
 * when freed, but raises that threshold (up to 32 MiB) each time it frees such a block. Loading the
 * model allocates and frees hundreds of MB in large blocks; once the threshold has risen they come
 * from malloc's heap, which keeps them after they are freed: ~145 MB (fp32) held from ready on.
 * Setting the threshold fixes it at its default. ONNX Runtime's arena keeps the blocks its calls
 * reuse either way, so calls are as fast (docs/PERFORMANCE.md, issue #26).
 */
export const MALLOC_ENV = { MALLOC_MMAP_THRESHOLD_: '131072' } as const;

const SEMI_SPACE_FLAG = /^--max[-_]semi[-_]space[-_]size\b/;
const MMAP_THRESHOLD_TUNABLE = /(^|:)glibc\.malloc\.mmap_threshold=/;

/**
 * A V8 heap flag and a malloc setting take effect only when the process starts, so the entry point
 * executes itself again with them (`execve`: same PID, same standard streams, nothing started yet),
 * unless the start command, NODE_OPTIONS or the environment already chooses them. This keeps one start
 * command, `node dist/main.js`, for npm start, the image, the tests and the benchmarks.
 */
export function restartWithHeapFlags(): void {
  const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  const flags = given.some((flag) => SEMI_SPACE_FLAG.test(flag)) ? [] : HEAP_FLAGS;
  const mallocChosen =
    process.env.MALLOC_MMAP_THRESHOLD_ !== undefined || MMAP_THRESHOLD_TUNABLE.test(process.env.GLIBC_TUNABLES ?? '');
  if (flags.length === 0 && mallocChosen) return;
  process.execve?.(
    process.execPath,
    [process.execPath, ...flags, ...process.execArgv, ...process.argv.slice(1)],
    mallocChosen ? process.env : { ...process.env, ...MALLOC_ENV },
  );
}
