import { loadSettings, type Environment } from '../../../src/config/settings.js';

/**
 * The environment variables the config module reads, found by running `loadSettings` on an
 * environment that records every lookup: no hand-kept list to fall out of date. Run with the
 * values a deployment sets too, so variables read only when another one is set are found as well.
 */
export function settingsVariables(...environments: Environment[]): Set<string> {
  const read = new Set<string>();
  for (const values of [{}, ...environments]) {
    const recording = new Proxy(values, {
      get(target, key) {
        if (typeof key === 'string') read.add(key);
        return Reflect.get(target, key) as unknown;
      },
    });
    loadSettings(recording);
  }
  return read;
}
