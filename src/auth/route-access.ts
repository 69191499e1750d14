import type { FastifyRequest } from 'fastify';
import { addRouteConfig } from '../http/route-config.js';

/** Whose keys open a route: the API keys (`API_KEYS`) or the metrics key (`METRICS_API_KEY`). */
export type KeyRealm = 'sentiment-api' | 'metrics';

/** What a route demands before its body is read; routes without it are open (probes, docs). */
export interface RouteAccess {
  /** The keys that open it; a realm with no keys configured is open. */
  readonly realm: KeyRealm;
  /** Whether each request counts against the caller's `RATE_LIMIT_PER_MINUTE`. */
  readonly rateLimited: boolean;
}

interface AccessConfig {
  access?: RouteAccess;
}

/**
 * Attaches `access` to every route of a controller as Fastify route config (`routeOptions.config`),
 * which Nest hands to Fastify with each route. The access gate reads it from the route the router
 * matched, so what is protected is exactly what is routed there, however the path was spelled.
 * Nest's `@RouteConfig` is read from handlers only, so it is applied to each method.
 */
export function Protected(access: RouteAccess): ClassDecorator {
  return (target) => {
    const prototype = (target as unknown as { prototype: Record<string, unknown> }).prototype;
    for (const name of Object.getOwnPropertyNames(prototype)) {
      const handler = prototype[name];
      if (name === 'constructor' || typeof handler !== 'function') continue;
      const config: AccessConfig = { access };
      addRouteConfig(prototype, name, { ...config });
    }
  };
}

/** The access the matched route demands; undefined for open routes and for requests no route matched. */
export function routeAccessOf(request: FastifyRequest): RouteAccess | undefined {
  return (request.routeOptions.config as AccessConfig | undefined)?.access;
}
