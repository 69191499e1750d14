/** A run's start as a file-name part, e.g. `2026-11-26T11-10-24Z` (no colons, no milliseconds). */
export function resultStamp(startedAt: Date): string {
  return startedAt
    .toISOString()
    .replace(/:/g, '-')
    .replace(/\.\d+Z$/, 'Z');
}
