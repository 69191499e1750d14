import { createHmac } from 'node:crypto';
import type { Settings } from '../config/settings.js';

/** HMAC key when no CACHE_KEY_SECRET is set: still separates tenant ids from other digests of keys. */
const UNKEYED_LABEL = 'sentiment-api:tenant';

/**
 * The tenant a request belongs to for shared state (cache entries, coalesced model calls): an id
 * derived from its API key, or undefined when state is shared (no API keys, or CACHE_SCOPE=shared).
 * The id is the first 128 bits of HMAC-SHA256 of the key, never the key: it ends up in Redis.
 */
export function tenantOf(
  apiKey: string | undefined,
  settings: Pick<Settings, 'apiKeys' | 'cacheScope' | 'cacheKeySecret'>,
): string | undefined {
  if (apiKey === undefined || settings.apiKeys.length === 0 || settings.cacheScope === 'shared') return undefined;
  return createHmac('sha256', settings.cacheKeySecret ?? UNKEYED_LABEL)
    .update(apiKey, 'utf8')
    .digest('hex')
    .slice(0, 32);
}
