import { createHash, createHmac } from 'node:crypto';

/** Bump when the value format changes, so old entries are never read as new ones. */
const KEY_VERSION = 'v1';

/**
 * Cache keys: `sentiment:v1:<model fingerprint>:<hex digest of the text>`, or
 * `sentiment:v1:<model fingerprint>:t:<tenant>:<hex digest>` for a tenant's own entries. The raw
 * text never appears, and another model (or dtype) has another fingerprint, so it never reads
 * these entries. With a secret the digest is an HMAC: whoever can read Redis cannot confirm a
 * guessed text by hashing it.
 */
export class PredictionKeys {
  constructor(private readonly secret?: string) {}

  keyFor(fingerprint: string, text: string, tenant?: string): string {
    const digest = this.secret
      ? createHmac('sha256', this.secret).update(text, 'utf8').digest('hex')
      : createHash('sha256').update(text, 'utf8').digest('hex');
    const scope = tenant === undefined ? '' : `t:${tenant}:`;
    return `sentiment:${KEY_VERSION}:${fingerprint}:${scope}${digest}`;
  }
}
