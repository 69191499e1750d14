import { readFileSync } from 'node:fs';
import { loadSettings, SETTING_DEFINITIONS } from '../../src/config/settings.js';
import { SETTINGS_PAGE, withSettingsTable } from '../../scripts/settings-table.js';

describe(`the settings table of ${SETTINGS_PAGE}`, () => {
  it('is what `npm run docs:settings` writes from src/config/settings.ts', async () => {
    const page = readFileSync(SETTINGS_PAGE, 'utf8');
    const generated = await withSettingsTable(page);
    try {
      expect(page).toBe(generated);
    } catch (error) {
      throw new Error(
        `${SETTINGS_PAGE} differs from the setting definitions in src/config/settings.ts: ` +
          `run \`npm run docs:settings\` and commit the page.\n\n${(error as Error).message}`,
        { cause: error },
      );
    }
  });

  it('documents every variable loadSettings reads, and only those', () => {
    const read = new Set<string>();
    const recording = new Proxy(
      {},
      {
        get(target, key) {
          if (typeof key === 'string') read.add(key);
          return Reflect.get(target, key) as unknown;
        },
      },
    );
    loadSettings(recording);
    const page = readFileSync(SETTINGS_PAGE, 'utf8');
    const documented = [...page.matchAll(/^\| `([A-Z0-9_]+)` +\|/gm)].map(([, variable]) => variable);
    expect(documented.sort()).toEqual([...read].sort());
    expect(documented).toHaveLength(
      Object.values(SETTING_DEFINITIONS).reduce((count, definition) => count + (definition.file ? 2 : 1), 0),
    );
  });
});
