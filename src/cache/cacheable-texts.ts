/** The request limits a body must meet before the cache may answer it. */
export interface TextLimits {
  maxBatchSize: number;
  maxTextChars: number;
}

/**
 * The texts of a predict body, when the body is certainly valid; otherwise undefined.
 * Interceptors run before the validation pipe, and a cache hit never reaches the pipe, so the
 * cache must not answer anything the pipe would reject. This check is deliberately strict:
 * whatever it does not recognise goes through untouched for the pipe to judge.
 */
export function cacheableTexts(body: unknown, limits: TextLimits): string[] | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const fields = Object.keys(body);
  if (fields.length !== 1 || fields[0] !== 'text') return undefined;
  const texts = (body as { text: unknown }).text;
  if (!Array.isArray(texts) || texts.length === 0 || texts.length > limits.maxBatchSize) return undefined;
  const valid = texts.every(
    (text) =>
      typeof text === 'string' && (text.length <= limits.maxTextChars || [...text].length <= limits.maxTextChars),
  );
  return valid ? (texts as string[]) : undefined;
}
