// Generates the TypeScript SDK (sdk/src) from openapi.yaml with @hey-api/openapi-ts and its fetch
// client, then formats it with the repository's Prettier settings (`npm run sdk:generate`).
//   tsx scripts/generate-sdk.ts [--output sdk/src]
// The contract drift test runs it with another --output and compares the result with sdk/src.
import { createClient } from '@hey-api/openapi-ts';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { format, resolveConfig } from 'prettier';

const { values } = parseArgs({ options: { output: { type: 'string', default: 'sdk/src' } }, strict: true });
const output = values.output;

async function formatTree(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
    const file = join(entry.parentPath, entry.name);
    const options = await resolveConfig(file);
    await writeFile(file, await format(await readFile(file, 'utf8'), { ...options, filepath: file }));
  }
}

async function main(): Promise<void> {
  await createClient({
    input: 'openapi.yaml',
    output: { path: output, tsConfigPath: 'sdk/tsconfig.json', module: { extension: '.js' } },
    plugins: [
      // Re-exported from the package entry, so partner apps can create a client for their base URL.
      { name: '@hey-api/client-fetch', includeInEntry: true },
      '@hey-api/typescript',
      '@hey-api/sdk',
    ],
    logs: { file: false, level: 'warn' },
  });
  await formatTree(output);
  console.log(`generated ${output}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.stack : error);
  process.exitCode = 1;
});
