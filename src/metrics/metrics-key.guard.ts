import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { apiKeyOf } from '../auth/api-key-credential.js';
import { ApiKeyRing } from '../auth/api-key-ring.js';
import { unauthorized } from '../auth/unauthorized.js';
import { SETTINGS } from '../config/config.module.js';
import type { Settings } from '../config/settings.js';

export const METRICS_UNAUTHORIZED_DETAIL =
  'The metrics key is required: send it as `Authorization: Bearer <key>` or `X-API-Key`.';

/**
 * With `METRICS_API_KEY` set, the scrape endpoint needs that key. It has a ring of its own, so the
 * API keys do not open /metrics; ApiKeyGuard checks /v1 against the API keys only, so this key does
 * not open the API.
 */
@Injectable()
export class MetricsKeyGuard implements CanActivate {
  private readonly keys: ApiKeyRing;

  constructor(@Inject(SETTINGS) settings: Settings) {
    this.keys = new ApiKeyRing(settings.metricsApiKey === undefined ? [] : [settings.metricsApiKey]);
  }

  canActivate(context: ExecutionContext): boolean {
    if (!this.keys.enabled) return true;
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    if (this.keys.accepts(apiKeyOf(request.headers))) return true;
    throw unauthorized('metrics', METRICS_UNAUTHORIZED_DETAIL);
  }
}
