/**
 * Who is calling, decided once at the edge with the key check (RouteAccessGate) and attached to the
 * request. Everything below the edge works with it and never with the key.
 */
export interface Caller {
  /**
   * The API key's identity: the first 128 bits of HMAC-SHA256 of the key, never the key, since it
   * ends up in Redis. Undefined when the service has no API keys.
   */
  readonly identity?: string;
  /**
   * Whose cache entries and coalesced computations: the identity under CACHE_SCOPE=tenant, so no key
   * learns from a hit what another sent; undefined (shared) without keys or with CACHE_SCOPE=shared.
   */
  readonly cacheScope?: string;
  /**
   * The scheduler's unit of fairness: the identity, whatever the cache scope; undefined without keys,
   * when each request is a flow of its own.
   */
  readonly flow?: string;
}

/** A caller of a service without API keys. */
export const ANONYMOUS_CALLER: Caller = Object.freeze({});
