import type { FastifyReply, FastifyRequest } from 'fastify';
import { addRouteConfig } from './route-config.js';

/** A route kept for clients of an older API, and the route that replaces it. */
export interface RouteDeprecation {
  /** The path of the route to move to, sent as `Link: <path>; rel="successor-version"`. */
  readonly successor: string;
  /** When it was deprecated (RFC 9745: `Deprecation: @<unix seconds>`). */
  readonly since: Date;
}

/** When the FastAPI original's routes (`/project/...`) became deprecated aliases of this API's own. */
export const ORIGINAL_ROUTES_DEPRECATED = new Date('2026-12-01T00:00:00Z');

interface DeprecationConfig {
  deprecation?: RouteDeprecation;
}

/**
 * Marks a route deprecated in its Fastify route config, so the edge adds `Deprecation` and `Link`
 * to every answer of it (errors, 401 and 429 included), not only to the handler's 200.
 */
export const Deprecated =
  (deprecation: RouteDeprecation): MethodDecorator =>
  (prototype, method): void =>
    addRouteConfig(prototype, method, { deprecation } satisfies DeprecationConfig);

export function sendDeprecationHeaders(request: FastifyRequest, reply: FastifyReply): void {
  const deprecation = (request.routeOptions.config as DeprecationConfig | undefined)?.deprecation;
  if (!deprecation) return;
  void reply.header('deprecation', `@${Math.floor(deprecation.since.getTime() / 1000)}`);
  void reply.header('link', `<${deprecation.successor}>; rel="successor-version"`);
}
