// Runs TypeScript entry points with decorator metadata: `node --import ./scripts/ts-metadata/register.mjs x.ts`.
// tsx (esbuild) does not emit `design:paramtypes`, which Nest's injector needs to build the app.
import { register } from 'node:module';

register('./hooks.mjs', import.meta.url);
