// Writes the OpenAPI contract to openapi.yaml at the repository root (`npm run openapi:export`).
// Runs with scripts/ts-metadata (not tsx), which emits the decorator metadata Nest needs.
import { writeFile } from 'node:fs/promises';
import { renderCommittedOpenApiYaml } from './openapi-document.js';

const TARGET = 'openapi.yaml';

async function main(): Promise<void> {
  await writeFile(TARGET, await renderCommittedOpenApiYaml());
  console.log(`wrote ${TARGET}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.stack : error);
  process.exitCode = 1;
});
