import { describe, expect, it } from '@jest/globals';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadSettings, type Environment } from '../../src/config/settings.js';
import { cacheRedisEndpoint, jobsRedisEndpoint } from '../../src/redis/redis-endpoint.js';
import { TEST_OUTPUT_DIR } from '../support/paths.js';

const dir = join(TEST_OUTPUT_DIR, 'redis-settings');
mkdirSync(dir, { recursive: true });
const file = (name: string, content: string) => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};
/** A self-signed certificate (openssl, valid until 2036): parsed, never used to connect. */
const CERT = `-----BEGIN CERTIFICATE-----
MIIBjDCCATGgAwIBAgIUU2cvicSXWI6qIUGO/Y7MLiN1zA8wCgYIKoZIzj0EAwIw
GzEZMBcGA1UEAwwQc2V0dGluZ3MtdGVzdC1jYTAeFw0yNjEyMDcwMzU5NDhaFw0z
NjEyMDQwMzU5NDhaMBsxGTAXBgNVBAMMEHNldHRpbmdzLXRlc3QtY2EwWTATBgcq
hkjOPQIBBggqhkjOPQMBBwNCAARk69MFEJU7UI6VmHK5eMqlqLMLWD5gkYK6T2L/
yfcIy040bS0n9fV9teDYwMgaTFLpsRV8G7Lz9JAXaypwsaN9o1MwUTAdBgNVHQ4E
FgQU4YTdgCK+MiihFLzvJ63Jep+HZIUwHwYDVR0jBBgwFoAU4YTdgCK+MiihFLzv
J63Jep+HZIUwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNJADBGAiEA8Ob5
NzecMzyxcrPyxx8bwAVU5ehBjMznnQ1Yf6GHf34CIQC8RkW33j1s76kyF/Sd5utN
KKfS9NFeRYaG2Hg1m7ks5A==
-----END CERTIFICATE-----
`;

const settings = (env: Environment) => loadSettings({ NODE_ENV: 'test', ...env });

describe('Redis settings', () => {
  it("take the user and password from the settings over the URL's, and jobs follow the cache's Redis", () => {
    const s = settings({
      REDIS_URL: 'redis://url-user:url-password@cache.example:6380/2',
      REDIS_PASSWORD_FILE: file('password', 'file-password\n'),
      REDIS_CLUSTER: 'true',
    });
    expect(cacheRedisEndpoint(s)).toMatchObject({
      host: 'cache.example',
      port: 6380,
      database: 2,
      username: 'url-user',
      password: 'file-password',
      cluster: true,
      tls: undefined,
    });
    // JOBS_REDIS_URL unset: the cache's Redis, with the cache's credentials and cluster mode.
    expect(jobsRedisEndpoint(s)).toMatchObject({ username: 'url-user', password: 'file-password', cluster: true });
  });

  it('give a jobs Redis of its own only its own credentials', () => {
    const s = settings({
      REDIS_URL: 'redis://cache:6379',
      REDIS_USERNAME: 'cache-user',
      REDIS_PASSWORD: 'cache-password',
      REDIS_CLUSTER: 'true',
      JOBS_REDIS_URL: 'redis://jobs-user:jobs%40password@jobs:6379',
    });
    expect(jobsRedisEndpoint(s)).toMatchObject({
      host: 'jobs',
      username: 'jobs-user',
      password: 'jobs@password',
      cluster: false,
    });
    expect(jobsRedisEndpoint({ ...s, jobs: { ...s.jobs, redisUsername: 'u', redisPassword: 'p' } })).toMatchObject({
      username: 'u',
      password: 'p',
    });
  });

  it('read the TLS files for rediss:// URLs only', () => {
    const ca = file('ca.pem', CERT);
    const s = settings({
      REDIS_URL: 'rediss://cache:6380',
      JOBS_REDIS_URL: 'redis://jobs:6379',
      REDIS_TLS_CA_FILE: ca,
    });
    expect(cacheRedisEndpoint(s)?.tls?.ca?.toString()).toBe(CERT);
    expect(jobsRedisEndpoint(s)?.tls).toBeUndefined();
    // Without a CA file Node's CAs (NODE_EXTRA_CA_CERTS included) verify the server.
    expect(cacheRedisEndpoint(settings({ REDIS_URL: 'rediss://cache:6380' }))?.tls).toEqual({});
  });

  it('refuse TLS files that are unreadable, not PEM, half a client certificate, or used by no rediss:// URL', () => {
    const ca = file('ca.pem', CERT);
    expect(() => settings({ REDIS_URL: 'rediss://c:1', REDIS_TLS_CA_FILE: join(dir, 'missing.pem') })).toThrow(
      /REDIS_TLS_CA_FILE must be a readable PEM file holding a certificate/,
    );
    expect(() => settings({ REDIS_URL: 'rediss://c:1', REDIS_TLS_CA_FILE: file('junk.pem', 'junk') })).toThrow(
      /REDIS_TLS_CA_FILE must be a readable PEM file/,
    );
    expect(() => settings({ REDIS_URL: 'rediss://c:1', REDIS_TLS_CERT_FILE: ca })).toThrow(
      /REDIS_TLS_KEY_FILE must be set when REDIS_TLS_CERT_FILE is set/,
    );
    expect(() => settings({ REDIS_URL: 'redis://c:1', REDIS_TLS_CA_FILE: ca })).toThrow(
      /REDIS_TLS_CA_FILE must be unset unless REDIS_URL or JOBS_REDIS_URL is a rediss:\/\/ URL/,
    );
  });

  it('never echo a password in a refusal', () => {
    expect(() => settings({ REDIS_PASSWORD: 'x', REDIS_PASSWORD_FILE: file('p', 'secret-in-file') })).toThrow(
      /REDIS_PASSWORD_FILE must be unset when REDIS_PASSWORD is set/,
    );
    let message = '';
    try {
      settings({ REDIS_USERNAME: 'has space', REDIS_PASSWORD: 'pw-not-echoed' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/REDIS_USERNAME/);
    expect(message).not.toContain('pw-not-echoed');
  });
});
