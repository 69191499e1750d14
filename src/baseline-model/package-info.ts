import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/** Provenance of a data source shipped in an npm package, recorded in the model card. */
export interface SourcePackage {
  name: string;
  version: string;
  license: string;
}

const localRequire = createRequire(import.meta.url);

export function resolvePackageFile(specifier: string): string {
  return localRequire.resolve(specifier);
}

export function readSourcePackage(name: string): SourcePackage {
  const manifest = JSON.parse(readFileSync(resolvePackageFile(`${name}/package.json`), 'utf8')) as {
    version?: unknown;
    license?: unknown;
  };
  return {
    name,
    version: String(manifest.version),
    license: typeof manifest.license === 'string' ? manifest.license : 'unknown',
  };
}
