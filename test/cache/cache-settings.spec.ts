import { InvalidSettingError, loadSettings } from '../../src/config/settings.js';

describe('cache settings', () => {
  it('defaults to the in-memory cache: 1 h TTL, 10,000 entries, 50 ms timeout, plain SHA-256 keys', () => {
    const settings = loadSettings({});
    expect(settings.redisUrl).toBeUndefined();
    expect(settings.cacheTtlSeconds).toBe(3600);
    expect(settings.cacheMaxEntries).toBe(10_000);
    expect(settings.cacheTimeoutMs).toBe(50);
    expect(settings.cacheKeySecret).toBeUndefined();
  });

  it('reads every cache variable', () => {
    const settings = loadSettings({
      REDIS_URL: 'rediss://user:pw@cache.example:6380/2',
      CACHE_TTL_SECONDS: '60',
      CACHE_MAX_ENTRIES: '5',
      CACHE_TIMEOUT_MS: '20',
      CACHE_KEY_SECRET: 'sixteen-chars-ok',
    });
    expect(settings).toEqual(
      expect.objectContaining({
        redisUrl: 'rediss://user:pw@cache.example:6380/2',
        cacheTtlSeconds: 60,
        cacheMaxEntries: 5,
        cacheTimeoutMs: 20,
        cacheKeySecret: 'sixteen-chars-ok',
      }),
    );
  });

  it.each([
    ['REDIS_URL', 'http://cache:6379'],
    ['CACHE_TTL_SECONDS', '0'],
    ['CACHE_MAX_ENTRIES', 'many'],
    ['CACHE_TIMEOUT_MS', '0'],
    ['CACHE_KEY_SECRET', 'short'],
  ])('rejects a bad %s, naming it', (variable, value) => {
    expect(() => loadSettings({ [variable]: value })).toThrow(InvalidSettingError);
    expect(() => loadSettings({ [variable]: value })).toThrow(variable);
  });

  it('never echoes a bad secret or URL, which may hold a password', () => {
    expect(() => loadSettings({ CACHE_KEY_SECRET: 'hunter2' })).not.toThrow(/hunter2/);
    expect(() => loadSettings({ REDIS_URL: 'http://u:hunter2@cache' })).not.toThrow(/hunter2/);
  });
});
