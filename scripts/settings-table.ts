import { format, resolveConfig } from 'prettier';
import { DerivedDefault, SETTING_DEFINITIONS, type SettingDefinition } from '../src/config/settings.js';

/** The page holding the generated table, and the markers around it. */
export const SETTINGS_PAGE = 'docs/CONFIGURATION.md';
const BEGIN = '<!-- settings:begin: generated from src/config/settings.ts by `npm run docs:settings` -->';
const END = '<!-- settings:end -->';

function cell(markdown: string): string {
  return markdown.replace(/\|/g, '\\|');
}

function documentedDefault(definition: SettingDefinition<unknown>): string {
  if (definition.documentedDefault !== undefined) return definition.documentedDefault;
  const value = definition.default;
  if (value instanceof DerivedDefault || !['string', 'number', 'boolean'].includes(typeof value)) {
    throw new Error(`${definition.variable}: a default the docs cannot show as a value needs a documentedDefault`);
  }
  return `\`${String(value)}\``;
}

/** One row per variable, and one for its `_FILE` variable when it has one. */
function rows(): string[][] {
  return Object.values(SETTING_DEFINITIONS).flatMap((definition: SettingDefinition<unknown>) => [
    [`\`${definition.variable}\``, documentedDefault(definition), definition.parse.accepts, definition.description],
    ...(definition.file
      ? [[`\`${definition.file.variable}\``, 'unset', 'a file path', definition.file.description]]
      : []),
  ]);
}

function settingsTable(): string {
  const lines = [['variable', 'default', 'accepts', 'meaning'], ['---', '---', '---', '---'], ...rows()].map(
    (row) => `| ${row.map(cell).join(' | ')} |`,
  );
  return lines.join('\n');
}

/** `page` with the settings table between its markers, formatted as `npm run lint` (Prettier) wants it. */
export async function withSettingsTable(page: string): Promise<string> {
  const begin = page.indexOf(BEGIN);
  const end = page.indexOf(END);
  if (begin === -1 || end < begin) throw new Error(`${SETTINGS_PAGE} lacks the markers ${BEGIN} … ${END}`);
  const updated = `${page.slice(0, begin + BEGIN.length)}\n\n${settingsTable()}\n\n${page.slice(end)}`;
  const options = await resolveConfig(SETTINGS_PAGE);
  return format(updated, { ...options, filepath: SETTINGS_PAGE });
}
