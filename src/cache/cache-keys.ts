import { createHash, createHmac } from 'node:crypto';
import type { TruncationSide } from '../model/token-sequences.js';

/** Bump when the value format changes, so old entries are never read as new ones (v2: logits and token count). */
const KEY_VERSION = 'v2';

/**
 * Cache keys: `sentiment:v2:<model fingerprint>:<hex digest of the text>`, with `t:<tenant>:` before
 * the digest for a tenant's own entries, `left:` for texts cut from the left (their logits differ
 * once a text is longer than the model's maximum) and `chunk<stride %>:` for texts read in windows
 * (`long_text: "chunk"`; any cut side is then moot). The raw text never appears, and another model
 * (or dtype) has another fingerprint, so it never reads these entries. With a secret the digest is
 * an HMAC: whoever can read Redis cannot confirm a guessed text by hashing it.
 */
export class PredictionKeys {
  constructor(private readonly secret?: string) {}

  /** `chunkStridePercent` set: the entry of a text read in windows sharing that % of a window. */
  keyFor(
    fingerprint: string,
    text: string,
    tenant?: string,
    truncation: TruncationSide = 'right',
    chunkStridePercent?: number,
  ): string {
    const digest = this.secret
      ? createHmac('sha256', this.secret).update(text, 'utf8').digest('hex')
      : createHash('sha256').update(text, 'utf8').digest('hex');
    const scope = tenant === undefined ? '' : `t:${tenant}:`;
    const reading =
      chunkStridePercent !== undefined ? `chunk${chunkStridePercent}:` : truncation === 'right' ? '' : `${truncation}:`;
    return `sentiment:${KEY_VERSION}:${fingerprint}:${scope}${reading}${digest}`;
  }
}
