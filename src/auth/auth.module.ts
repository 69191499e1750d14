import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { SETTINGS } from '../config/config.module.js';
import type { Settings } from '../config/settings.js';
import { ApiKeyRing } from './api-key-ring.js';
import { ApiKeyGuard } from './api-key.guard.js';

/** API keys for the /v1 routes (`API_KEYS` / `API_KEYS_FILE`); without keys the API is open. */
@Module({
  providers: [
    { provide: ApiKeyRing, inject: [SETTINGS], useFactory: (settings: Settings) => new ApiKeyRing(settings.apiKeys) },
    { provide: APP_GUARD, useClass: ApiKeyGuard },
  ],
  exports: [ApiKeyRing],
})
export class AuthModule {}
