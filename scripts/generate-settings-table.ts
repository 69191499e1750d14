// Writes the settings table of docs/CONFIGURATION.md from the definitions in src/config/settings.ts
// (`npm run docs:settings`); test/config/settings-docs.spec.ts fails when the committed page differs.
import { readFile, writeFile } from 'node:fs/promises';
import { SETTINGS_PAGE, withSettingsTable } from './settings-table.js';

async function main(): Promise<void> {
  await writeFile(SETTINGS_PAGE, await withSettingsTable(await readFile(SETTINGS_PAGE, 'utf8')));
  console.log(`wrote the settings table of ${SETTINGS_PAGE}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.stack : error);
  process.exitCode = 1;
});
