/**
 * What makes one submitted text acceptable, for the predict route's `text[i]` and a job's NDJSON
 * lines alike: a string of at most `maxTextChars` Unicode characters. Returns the message for the
 * error, or undefined when the text is fine.
 */
export function textError(item: unknown, maxTextChars: number): string | undefined {
  if (typeof item !== 'string') return `must be a string (got ${item === null ? 'null' : typeof item})`;
  if (characterCount(item, maxTextChars) > maxTextChars) return `must be at most ${maxTextChars} characters`;
  return undefined;
}

/** Counts Unicode characters (as JSON Schema's maxLength does), cheaply when clearly within limit. */
function characterCount(text: string, limit: number): number {
  return text.length <= limit ? text.length : [...text].length;
}
