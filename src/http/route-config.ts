import { RouteConfig } from '@nestjs/platform-fastify';
import { FASTIFY_ROUTE_CONFIG_METADATA } from '@nestjs/platform-fastify/constants.js';

/**
 * Adds fields to a handler's Fastify route config (`routeOptions.config`) instead of replacing it
 * as Nest's `@RouteConfig` does, so several decorators (access, model admission) can each add theirs.
 */
export function addRouteConfig(prototype: object, method: string | symbol, fields: Record<string, unknown>): void {
  const descriptor = Object.getOwnPropertyDescriptor(prototype, method)!;
  const current = (Reflect.getMetadata(FASTIFY_ROUTE_CONFIG_METADATA, descriptor.value as object) ?? {}) as Record<
    string,
    unknown
  >;
  RouteConfig({ ...current, ...fields })(prototype, method, descriptor);
}
