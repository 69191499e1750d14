import type { Settings } from '../config/settings.js';
import { ApiKeyRing } from './api-key-ring.js';
import type { KeyRealm } from './route-access.js';

/** One ring per realm, so an API key never opens /metrics and the metrics key never opens /v1. */
export type KeyRings = Readonly<Record<KeyRealm, ApiKeyRing>>;

export const KEY_RINGS = Symbol('KEY_RINGS');

export function keyRingsOf(settings: Settings): KeyRings {
  return {
    'sentiment-api': new ApiKeyRing(settings.apiKeys),
    metrics: new ApiKeyRing(settings.metricsApiKey === undefined ? [] : [settings.metricsApiKey]),
  };
}
