import { createHash, timingSafeEqual } from 'node:crypto';

function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/**
 * The accepted API keys, held only as SHA-256 digests. Hashing first gives every comparison the
 * same length, so `timingSafeEqual` applies, and every key is compared so timing does not say which matched.
 */
export class ApiKeyRing {
  private readonly digests: readonly Buffer[];

  constructor(keys: readonly string[]) {
    this.digests = keys.map(sha256);
  }

  /** False when no keys are configured: then the API is open and nothing is checked. */
  get enabled(): boolean {
    return this.digests.length > 0;
  }

  accepts(candidate: string | undefined): boolean {
    if (candidate === undefined) return false;
    const digest = sha256(candidate);
    let matched = false;
    for (const known of this.digests) matched = timingSafeEqual(known, digest) || matched;
    return matched;
  }
}
