import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { InvalidSettingError, loadSettings, startupWarnings, type Settings } from '../config/settings.js';
import { handleShutdownSignals } from '../health/graceful-shutdown.js';
import { createApp } from './create-app.js';
import { SentimentModel } from '../model/sentiment-model.service.js';

function settingsOrExit(): Settings {
  try {
    return loadSettings();
  } catch (error) {
    if (error instanceof InvalidSettingError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}

/** The server: settings, app, signals, listen, then the model. main.ts imports it once tracing is set up. */
export async function serve(): Promise<void> {
  const settings = settingsOrExit();
  const app = await createApp(settings);
  for (const warning of startupWarnings(settings)) new Logger('Settings').warn(warning);
  // Not enableShutdownHooks(): it would close the app the moment SIGTERM arrives, with no drain.
  handleShutdownSignals(app, settings.shutdownDrainMs, settings.shutdownInFlightMs);
  await app.listen({ port: settings.port, host: settings.host });
  // Loaded after listening, so probes answer (not ready) while the model loads.
  void app.get(SentimentModel).load();
}
