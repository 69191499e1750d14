import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidSettingError, loadSettings, startupWarnings, type Environment } from '../../src/config/settings.js';
import { TEST_OUTPUT_DIR } from '../support/paths.js';

/** The error `loadSettings` throws for `env`, so a test can look at its variable and message. */
function settingError(env: Environment): InvalidSettingError {
  try {
    loadSettings(env);
  } catch (error) {
    if (error instanceof InvalidSettingError) return error;
    throw error;
  }
  throw new Error(`loadSettings accepted ${JSON.stringify(env)}`);
}

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
      longTextStridePercent: 25,
      longTextMaxWindows: 32,
      longTextMaxWindowsPerRequest: 1000,
      maxBodyBytes: 2 * 1024 * 1024,
      metricsApiKey: undefined,
      trustProxy: false,
    });
  });

  it('turns the baseline fallback off in production', () => {
    expect(loadSettings({ NODE_ENV: 'production', ALLOW_ANONYMOUS: 'true' }).modelFallback).toBe('none');
  });

  it('scopes the cache per tenant unless told to share it', () => {
    expect(loadSettings({}).cacheScope).toBe('tenant');
    expect(loadSettings({ CACHE_SCOPE: 'shared' }).cacheScope).toBe('shared');
    expect(settingError({ CACHE_SCOPE: 'global' }).variable).toBe('CACHE_SCOPE');
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
    ['LONG_TEXT_STRIDE_PERCENT', '51'],
    ['LONG_TEXT_MAX_WINDOWS', '0'],
    ['LONG_TEXT_MAX_WINDOWS_PER_REQUEST', '0'],
  ])('rejects %s=%s naming the variable', (name, value) => {
    expect(() => loadSettings({ [name]: value })).toThrow(InvalidSettingError);
    expect(() => loadSettings({ [name]: value })).toThrow(new RegExp(`^Invalid configuration: ${name} must be`));
  });
});

describe('hub settings (HF_ENDPOINT, HF_TOKEN, MODEL_REVISION, MODEL_SHA256)', () => {
  it('default to the public hub at main, without a token or a pinned digest', () => {
    expect(loadSettings({})).toMatchObject({
      hubEndpoint: 'https://huggingface.co',
      hubToken: undefined,
      modelRevision: 'main',
      modelSha256: undefined,
    });
  });

  it('take a mirror (trailing slashes dropped), a token, a revision and a digest (lower-cased)', () => {
    const digest = 'AB'.repeat(32);
    expect(
      loadSettings({
        HF_ENDPOINT: 'https://hub.example.com/mirror/',
        HF_TOKEN: 'hf_abcdefghijklmnop',
        MODEL_REVISION: 'refs/pr/1',
        MODEL_SHA256: digest,
      }),
    ).toMatchObject({
      hubEndpoint: 'https://hub.example.com/mirror',
      hubToken: 'hf_abcdefghijklmnop',
      modelRevision: 'refs/pr/1',
      modelSha256: digest.toLowerCase(),
    });
  });

  it.each([
    ['HF_ENDPOINT', 'ftp://hub.example.com'],
    ['HF_ENDPOINT', 'hub.example.com'],
    ['MODEL_REVISION', '../../etc'],
    ['MODEL_REVISION', 'main branch'],
    ['MODEL_SHA256', 'abc123'],
  ])('rejects %s=%s naming the variable', (name, value) => {
    expect(settingError({ [name]: value }).variable).toBe(name);
  });

  it('never echoes a malformed token', () => {
    const error = settingError({ HF_TOKEN: 'hf_has a space' });
    expect(error.variable).toBe('HF_TOKEN');
    expect(error.message).not.toContain('hf_has');
  });
});

describe('METRICS_API_KEY and METRICS_API_KEY_FILE', () => {
  const KEY = 'metrics-key-0123456789abcdef';
  const API_KEY = 'api-key-fedcba9876543210';
  const dir = join(TEST_OUTPUT_DIR, 'settings');
  const file = (name: string, content: string) => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, name), content);
    return join(dir, name);
  };

  it('reads the key from METRICS_API_KEY, trimmed', () => {
    expect(loadSettings({ METRICS_API_KEY: ` ${KEY} ` }).metricsApiKey).toBe(KEY);
  });

  it('reads the key from METRICS_API_KEY_FILE (a mounted Kubernetes Secret, trailing newline and all)', () => {
    expect(loadSettings({ METRICS_API_KEY_FILE: file('metrics-key', `${KEY}\r\n`) }).metricsApiKey).toBe(KEY);
  });

  it.each([
    ['a short key', () => ({ METRICS_API_KEY: 'short-key' }), 'METRICS_API_KEY'],
    ['a key with a space', () => ({ METRICS_API_KEY: `${KEY} inside` }), 'METRICS_API_KEY'],
    ['two keys', () => ({ METRICS_API_KEY: `${KEY},${KEY}-second` }), 'METRICS_API_KEY'],
    ['only a separator', () => ({ METRICS_API_KEY: ',' }), 'METRICS_API_KEY'],
    ['a key that is also an API key', () => ({ API_KEYS: KEY, METRICS_API_KEY: KEY }), 'METRICS_API_KEY'],
    ['a missing file', () => ({ METRICS_API_KEY_FILE: join(dir, 'missing') }), 'METRICS_API_KEY_FILE'],
    ['an empty file', () => ({ METRICS_API_KEY_FILE: file('empty', '\n') }), 'METRICS_API_KEY_FILE'],
    [
      'a file with two keys',
      () => ({ METRICS_API_KEY_FILE: file('two', `${KEY}\n${API_KEY}\n`) }),
      'METRICS_API_KEY_FILE',
    ],
    [
      'both variables',
      () => ({ METRICS_API_KEY: KEY, METRICS_API_KEY_FILE: file('key', KEY) }),
      'METRICS_API_KEY_FILE',
    ],
  ])('rejects %s, naming the variable and never echoing a key', (_case, env, variable) => {
    const error = settingError(env());
    expect(error.variable).toBe(variable);
    expect(error.message).toMatch(new RegExp(`^Invalid configuration: ${variable} must be`));
    for (const secret of [KEY, API_KEY, 'short-key', 'inside']) expect(error.message).not.toContain(secret);
  });
});

describe('TRUST_PROXY', () => {
  it.each([
    [undefined, false],
    ['false', false],
    ['FALSE', false],
    ['true', true],
    ['True', true],
    ['10.240.0.0/16', ['10.240.0.0/16']],
    [' 10.240.0.0/16, 10.0.0.7 ,fd00::/8,::1,10.0.0.7', ['10.240.0.0/16', '10.0.0.7', 'fd00::/8', '::1']],
    ['0.0.0.0/0', ['0.0.0.0/0']],
  ])('reads %j as %j', (value, expected) => {
    expect(loadSettings({ TRUST_PROXY: value }).trustProxy).toEqual(expected);
  });

  it.each([
    ['1', 'a hop count (Fastify no longer honours one)'],
    ['2', 'a hop count'],
    ['yes', 'a word other than true or false'],
    ['ingress.local', 'a host name'],
    ['10.0.0.256', 'an address out of range'],
    ['10.0.0.0/33', 'an IPv4 prefix over 32'],
    ['fd00::/129', 'an IPv6 prefix over 128'],
    ['10.0.0.0/8/8', 'two prefixes'],
    ['10.0.0.0/', 'an empty prefix'],
    ['10.0.0.0/8,proxy', 'one bad entry in a list'],
    [',', 'only separators'],
  ])('rejects %j (%s), naming the variable and what it takes', (value) => {
    const error = settingError({ TRUST_PROXY: value });
    expect(error.variable).toBe('TRUST_PROXY');
    expect(error.message).toBe(
      'Invalid configuration: TRUST_PROXY must be true, false or the comma-separated IP addresses or CIDRs of ' +
        `the proxies, e.g. 10.240.0.0/16 (a hop count is not supported) (got ${JSON.stringify(value)})`,
    );
  });
});

describe('production defaults', () => {
  const API_KEY = 'api-key-fedcba9876543210';
  const SECRET = 'cache-key-secret-0123456789';
  const dir = join(TEST_OUTPUT_DIR, 'settings');
  const file = (name: string, content: string) => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, name), content);
    return join(dir, name);
  };

  it('refuses to run without API keys, naming API_KEYS and the way out', () => {
    const error = settingError({ NODE_ENV: 'production' });
    expect(error.variable).toBe('API_KEYS');
    expect(error.message).toMatch(/^Invalid configuration: API_KEYS must be set .*ALLOW_ANONYMOUS=true/);
  });

  it.each([
    ['API_KEYS', () => ({ API_KEYS: API_KEY })],
    ['API_KEYS_FILE', () => ({ API_KEYS_FILE: file('api-keys', `${API_KEY}\n`) })],
    ['ALLOW_ANONYMOUS=true', () => ({ ALLOW_ANONYMOUS: 'true' })],
  ])('runs with %s', (_case, env) => {
    const settings = loadSettings({ NODE_ENV: 'production', ...env() });
    expect(settings.nodeEnv).toBe('production');
  });

  it('does not ask for keys outside production', () => {
    expect(loadSettings({ NODE_ENV: 'development' }).apiKeys).toEqual([]);
    expect(loadSettings({ NODE_ENV: 'test' }).apiKeys).toEqual([]);
  });

  it('warns at start only when production is open on purpose', () => {
    expect(startupWarnings(loadSettings({ NODE_ENV: 'production', ALLOW_ANONYMOUS: 'true' }))).toEqual([
      expect.stringContaining('ALLOW_ANONYMOUS=true'),
    ]);
    expect(startupWarnings(loadSettings({ NODE_ENV: 'production', API_KEYS: API_KEY }))).toEqual([]);
    expect(startupWarnings(loadSettings({ NODE_ENV: 'development' }))).toEqual([]);
  });

  it('requires CACHE_KEY_SECRET with Redis, never echoing the URL (it may carry a password)', () => {
    const url = 'rediss://:p4ssw0rd-hidden@cache.example.com:6380';
    const error = settingError({ NODE_ENV: 'production', API_KEYS: API_KEY, REDIS_URL: url });
    expect(error.variable).toBe('CACHE_KEY_SECRET');
    expect(error.message).toMatch(/^Invalid configuration: CACHE_KEY_SECRET must be set .*REDIS_URL/);
    expect(error.message).not.toContain('p4ssw0rd');
    expect(loadSettings({ NODE_ENV: 'development', REDIS_URL: url }).cacheKeySecret).toBeUndefined();
  });

  it('reads the cache key secret from CACHE_KEY_SECRET or CACHE_KEY_SECRET_FILE', () => {
    const production = { NODE_ENV: 'production', API_KEYS: API_KEY, REDIS_URL: 'redis://127.0.0.1:6379' };
    expect(loadSettings({ ...production, CACHE_KEY_SECRET: SECRET }).cacheKeySecret).toBe(SECRET);
    const secretFile = file('cache-key-secret', `${SECRET}\n`);
    expect(loadSettings({ ...production, CACHE_KEY_SECRET_FILE: secretFile }).cacheKeySecret).toBe(SECRET);
  });

  it.each([
    ['a missing file', () => ({ CACHE_KEY_SECRET_FILE: join(dir, 'missing') })],
    ['a short secret in the file', () => ({ CACHE_KEY_SECRET_FILE: file('short-secret', 'short\n') })],
    ['both variables', () => ({ CACHE_KEY_SECRET: SECRET, CACHE_KEY_SECRET_FILE: file('secret', SECRET) })],
  ])('rejects %s as CACHE_KEY_SECRET_FILE, never echoing the secret', (_case, env) => {
    const error = settingError(env());
    expect(error.variable).toBe('CACHE_KEY_SECRET_FILE');
    expect(error.message).not.toContain(SECRET);
    expect(error.message).not.toContain('short\n');
  });
});
