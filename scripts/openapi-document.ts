import { pino } from 'pino';
import { loadSettings } from '../src/config/settings.js';
import { createApp } from '../src/bootstrap/create-app.js';
import { buildOpenApiDocument, toOpenApiYaml } from '../src/bootstrap/openapi.js';

/**
 * The committed contract: the document of the real app built with default limits and no model
 * loaded, so it depends on nothing but the code. Used by the export script and the drift test.
 */
export async function renderCommittedOpenApiYaml(): Promise<string> {
  // An explicit environment (not process.env): the machine's settings must not leak into the file.
  const settings = loadSettings({ NODE_ENV: 'test', LOG_LEVEL: 'error', ALLOW_REMOTE_MODELS: 'false' });
  // Errors go to stderr, so a failing build says why instead of exiting silently.
  const app = await createApp(settings, pino({ level: 'error' }, pino.destination(2)));
  try {
    return toOpenApiYaml(buildOpenApiDocument(app));
  } finally {
    await app.close();
  }
}
