import type { FastifyRequest } from 'fastify';
import { addRouteConfig } from '../http/route-config.js';

/**
 * Marks a route whose requests may need model time, in the matched route's Fastify config, so
 * admission can refuse them at `onRequest`, before the body is read.
 */
export const NeedsModel =
  (): MethodDecorator =>
  (prototype, method): void =>
    addRouteConfig(prototype, method, { needsModel: true });

export function routeNeedsModel(request: FastifyRequest): boolean {
  return (request.routeOptions.config as { needsModel?: unknown }).needsModel === true;
}
