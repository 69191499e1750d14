export const API_KEY_HEADER = 'x-api-key';

type Headers = Readonly<Record<string, string | string[] | undefined>>;

/** The key a caller sent, as `Authorization: Bearer <key>` or `X-API-Key: <key>`; undefined if neither. */
export function apiKeyOf(headers: Headers): string | undefined {
  const authorization = headers.authorization;
  if (typeof authorization === 'string') {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (match) return match[1];
  }
  const header = headers[API_KEY_HEADER];
  return typeof header === 'string' && header.trim() !== '' ? header.trim() : undefined;
}
