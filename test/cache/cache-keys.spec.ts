import { createHash, createHmac } from 'node:crypto';
import { PredictionKeys } from '../../src/cache/cache-keys.js';

const FINGERPRINT = '0123456789abcdef';
const KEY = /^sentiment:v2:0123456789abcdef:[0-9a-f]{64}$/;

describe('PredictionKeys', () => {
  it('keys a text by the model fingerprint and the SHA-256 of its UTF-8 bytes', () => {
    const text = 'I love you 😍';
    const key = new PredictionKeys().keyFor(FINGERPRINT, text);
    expect(key).toMatch(KEY);
    expect(key.endsWith(createHash('sha256').update(Buffer.from(text, 'utf8')).digest('hex'))).toBe(true);
    expect(key).not.toContain('love');
  });

  it('gives different texts and different models different keys, and the same text the same key', () => {
    const keys = new PredictionKeys();
    expect(keys.keyFor(FINGERPRINT, 'good')).toBe(keys.keyFor(FINGERPRINT, 'good'));
    expect(keys.keyFor(FINGERPRINT, 'good')).not.toBe(keys.keyFor(FINGERPRINT, 'good '));
    expect(keys.keyFor(FINGERPRINT, 'good')).not.toBe(keys.keyFor('fedcba9876543210', 'good'));
  });

  it('keeps truncated texts’ keys as they were, and gives texts read in windows keys of their own', () => {
    const keys = new PredictionKeys();
    const digest = createHash('sha256').update('long').digest('hex');
    // The keys a cache filled before `long_text` existed holds: unchanged.
    expect(keys.keyFor(FINGERPRINT, 'long', undefined, 'right')).toBe(`sentiment:v2:${FINGERPRINT}:${digest}`);
    expect(keys.keyFor(FINGERPRINT, 'long', 't1', 'left')).toBe(`sentiment:v2:${FINGERPRINT}:t:t1:left:${digest}`);
    const chunked = keys.keyFor(FINGERPRINT, 'long', 't1', 'right', 25);
    expect(chunked).toBe(`sentiment:v2:${FINGERPRINT}:t:t1:chunk25:${digest}`);
    // Nothing is cut when reading in windows: the side does not matter, the stride does.
    expect(keys.keyFor(FINGERPRINT, 'long', 't1', 'left', 25)).toBe(chunked);
    expect(keys.keyFor(FINGERPRINT, 'long', 't1', 'right', 30)).not.toBe(chunked);
    expect(keys.keyFor(FINGERPRINT, 'long', 't1', 'right', 0)).not.toBe(keys.keyFor(FINGERPRINT, 'long', 't1'));
  });

  it('with a secret, uses an HMAC that a reader without the secret cannot reproduce', () => {
    const secret = 'a-long-enough-test-secret';
    const text = 'a guessable text';
    const key = new PredictionKeys(secret).keyFor(FINGERPRINT, text);
    expect(key).toMatch(KEY);
    expect(key.endsWith(createHmac('sha256', secret).update(text).digest('hex'))).toBe(true);
    expect(key).not.toBe(new PredictionKeys().keyFor(FINGERPRINT, text));
    expect(key).not.toBe(new PredictionKeys('another-long-test-secret').keyFor(FINGERPRINT, text));
  });
});
