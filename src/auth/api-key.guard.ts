import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { apiKeyOf } from './api-key-credential.js';
import { ApiKeyRing } from './api-key-ring.js';
import { unauthorized } from './unauthorized.js';

/**
 * Routes under this prefix need a key when keys are configured; probes and docs stay open, and
 * /metrics has its own key (MetricsKeyGuard).
 */
const PROTECTED_PREFIX = '/v1/';

export const UNAUTHORIZED_DETAIL =
  'A valid API key is required: send it as `Authorization: Bearer <key>` or `X-API-Key`.';

/** Global guard: one answer for a missing and a wrong key, so callers learn nothing about the keys. */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(@Inject(ApiKeyRing) private readonly keys: ApiKeyRing) {}

  canActivate(context: ExecutionContext): boolean {
    if (!this.keys.enabled || context.getType() !== 'http') return true;
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    if (!request.url.startsWith(PROTECTED_PREFIX)) return true;
    if (this.keys.accepts(apiKeyOf(request.headers))) return true;
    throw unauthorized('sentiment-api', UNAUTHORIZED_DETAIL);
  }
}
