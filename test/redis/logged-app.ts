import { pino } from 'pino';
import type { Environment } from '../../src/config/settings.js';
import { SentimentModel } from '../../src/model/sentiment-model.service.js';
import { createTestApp, testSettings, type TestApp } from '../support/test-app.js';

/** A test app whose JSON log lines are kept, parsed, for tests about what the service says. */
export interface LoggedApp extends TestApp {
  readonly lines: string[];
  /** The parsed lines whose `msg` matches. */
  logged(pattern: RegExp): Array<Record<string, unknown>>;
}

export async function startLoggedApp(env: Environment): Promise<LoggedApp> {
  const lines: string[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
  const settings = testSettings({ LOG_LEVEL: 'info', ...env });
  const app = await createTestApp(settings, logger);
  const model = app.get(SentimentModel);
  await model.load();
  return {
    app,
    model,
    settings,
    lines,
    close: () => app.close(),
    logged: (pattern) =>
      lines
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .filter((entry) => typeof entry.msg === 'string' && pattern.test(entry.msg)),
  };
}
