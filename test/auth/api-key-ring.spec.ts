import { jest } from '@jest/globals';
import type * as Crypto from 'node:crypto';

// Every comparison the ring makes, watched through node:crypto: the real timingSafeEqual still decides.
const actualCrypto = jest.requireActual<typeof Crypto>('node:crypto');
const timingSafeEqual = jest.fn(actualCrypto.timingSafeEqual);
jest.unstable_mockModule('node:crypto', () => ({ ...actualCrypto, timingSafeEqual }));
const { ApiKeyRing } = await import('../../src/auth/api-key-ring.js');

const OLD_KEY = 'old-key-0123456789abcdef';
const NEW_KEY = 'new-key-fedcba9876543210';
const OTHER_KEY = 'third-key-00000000000000';

function sha256(value: string): string {
  return actualCrypto.createHash('sha256').update(value, 'utf8').digest('hex');
}

function hex(bytes: NodeJS.ArrayBufferView): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

beforeEach(() => timingSafeEqual.mockClear());

describe('ApiKeyRing', () => {
  it('with no keys is disabled and accepts nothing', () => {
    const ring = new ApiKeyRing([]);
    expect(ring.enabled).toBe(false);
    expect(ring.accepts('anything')).toBe(false);
    expect(ring.accepts(undefined)).toBe(false);
  });

  it('accepts every configured key during a rotation, and nothing else', () => {
    const ring = new ApiKeyRing([OLD_KEY, NEW_KEY]);
    expect(ring.enabled).toBe(true);
    expect(ring.accepts(OLD_KEY)).toBe(true);
    expect(ring.accepts(NEW_KEY)).toBe(true);
    for (const wrong of [OTHER_KEY, '', OLD_KEY.slice(0, -1), `${OLD_KEY}x`, OLD_KEY.toUpperCase(), ` ${NEW_KEY}`]) {
      expect(ring.accepts(wrong)).toBe(false);
    }
    expect(ring.accepts(undefined)).toBe(false);
  });

  it('drops a retired key once the ring is built without it', () => {
    const rotated = new ApiKeyRing([NEW_KEY]);
    expect(rotated.accepts(NEW_KEY)).toBe(true);
    expect(rotated.accepts(OLD_KEY)).toBe(false);
  });

  it("compares the candidate's SHA-256 digest with every key's, whichever matches", () => {
    const ring = new ApiKeyRing([OLD_KEY, NEW_KEY, OTHER_KEY]);
    for (const candidate of [OLD_KEY, OTHER_KEY, 'unknown', 'a much longer candidate than any configured key']) {
      timingSafeEqual.mockClear();
      ring.accepts(candidate);
      expect(timingSafeEqual).toHaveBeenCalledTimes(3);
      const calls = timingSafeEqual.mock.calls.map(([known, digest]) => [hex(known), hex(digest)]);
      // The ring holds the keys' digests, never the keys, and compares them with the candidate's.
      expect(calls).toEqual([OLD_KEY, NEW_KEY, OTHER_KEY].map((key) => [sha256(key), sha256(candidate)]));
    }
  });

  it('does not compare at all when no key was sent', () => {
    new ApiKeyRing([OLD_KEY]).accepts(undefined);
    expect(timingSafeEqual).not.toHaveBeenCalled();
  });
});
