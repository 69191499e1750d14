import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { InvalidSettingError, loadSettings } from '../../src/config/settings.js';

describe('loadSettings', () => {
  it('has the documented defaults', () => {
    expect(loadSettings({})).toMatchObject({
      port: 8000,
      host: '0.0.0.0',
      modelId: 'Xenova/distilbert-base-uncased-finetuned-sst-2-english',
      modelDtype: 'fp32',
      allowRemoteModels: true,
      modelFallback: 'baseline',
      maxBatchSize: 1000,
      maxTextChars: 10000,
      maxBodyBytes: 2 * 1024 * 1024,
    });
  });

  it('turns the baseline fallback off in production', () => {
    expect(loadSettings({ NODE_ENV: 'production' }).modelFallback).toBe('none');
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['MAX_BATCH_SIZE', '0'],
    ['MAX_TEXT_CHARS', '-5'],
    ['MODEL_DTYPE', 'fp64'],
    ['ALLOW_REMOTE_MODELS', 'maybe'],
    ['LOG_LEVEL', 'loud'],
    ['MODEL_FALLBACK', 'anything'],
  ])('rejects %s=%s naming the variable', (name, value) => {
    expect(() => loadSettings({ [name]: value })).toThrow(InvalidSettingError);
    expect(() => loadSettings({ [name]: value })).toThrow(new RegExp(`^Invalid configuration: ${name} must be`));
  });
});

describe('start-up with a bad setting', () => {
  it('exits 1 with one line naming the variable', () => {
    expect(existsSync('dist/main.js')).toBe(true);
    const run = spawnSync(process.execPath, ['dist/main.js'], {
      env: { ...process.env, PORT: 'abc', NODE_OPTIONS: '' },
      encoding: 'utf8',
      timeout: 20000,
    });
    expect(run.status).toBe(1);
    expect(run.stderr.trim().split('\n')).toEqual([
      'Invalid configuration: PORT must be an integer from 1 to 65535 (got "abc")',
    ]);
  });
});
