import { createHmac } from 'node:crypto';
import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ANONYMOUS_CALLER, type Caller } from '../common/caller.js';
import type { Settings } from '../config/settings.js';

/** HMAC key when no CACHE_KEY_SECRET is set: still separates identities from other digests of keys. */
const UNKEYED_LABEL = 'sentiment-api:tenant';

/** The caller holding `apiKey`, an accepted key; undefined (anonymous) when the service has no keys. */
export function callerOf(
  apiKey: string | undefined,
  settings: Pick<Settings, 'apiKeys' | 'cacheScope' | 'cacheKeySecret'>,
): Caller {
  if (apiKey === undefined || settings.apiKeys.length === 0) return ANONYMOUS_CALLER;
  const identity = createHmac('sha256', settings.cacheKeySecret ?? UNKEYED_LABEL)
    .update(apiKey, 'utf8')
    .digest('hex')
    .slice(0, 32);
  return { identity, cacheScope: settings.cacheScope === 'tenant' ? identity : undefined, flow: identity };
}

const callers = new WeakMap<FastifyRequest, Caller>();

/** Attaches the caller the edge decided on to its request. */
export function attachCaller(request: FastifyRequest, caller: Caller): void {
  callers.set(request, caller);
}

/** The caller of a request: as the edge decided, or anonymous on a route without keys. */
export function callerOfRequest(request: FastifyRequest): Caller {
  return callers.get(request) ?? ANONYMOUS_CALLER;
}

/** A controller parameter: the request's Caller. */
export const CurrentCaller = createParamDecorator((_data: unknown, context: ExecutionContext): Caller =>
  callerOfRequest(context.switchToHttp().getRequest<FastifyRequest>()),
);
