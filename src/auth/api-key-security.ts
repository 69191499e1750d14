import { applyDecorators } from '@nestjs/common';
import { ApiBearerAuth, ApiSecurity } from '@nestjs/swagger';

export const BEARER_SCHEME = 'bearerAuth';
export const API_KEY_SCHEME = 'apiKeyHeader';

/** OpenAPI: the operation accepts either scheme (two requirement objects = either one suffices). */
export function ApiKeySecurity(): ClassDecorator & MethodDecorator {
  return applyDecorators(ApiBearerAuth(BEARER_SCHEME), ApiSecurity(API_KEY_SCHEME));
}
