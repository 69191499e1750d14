import { PROBLEM } from './problem-catalogue.js';
import { ProblemError } from './problem.js';

export const BAD_REQUEST_TARGET_DETAIL =
  'The request target must be a plain path: no scheme or host, no encoded slashes or dot segments, no empty ' +
  'segments, backslashes or `;` parameters, and no percent-encoding of characters that need none.';

/**
 * Characters a path may hold as they are (RFC 3986 `pchar` and `/`), without `;`: matrix parameters
 * are nothing this API uses, and proxies and routers disagree about them.
 */
const PATH_CHARACTERS = /^[A-Za-z0-9\-._~!$&'()*+,=:@/%]*$/;
const PERCENT_ENCODED = /%(?:[0-9A-Fa-f]{2})?/g;
/** Characters that must not appear percent-encoded: the unreserved ones (RFC 3986 §6.2.2.2). */
const NEEDS_NO_ENCODING = /[A-Za-z0-9\-._~]/;

/**
 * Whether a raw request target (as it arrived, before any decoding) is a path in normal form.
 * Only such a path is matched by the router exactly as it reads, so only for such a path is "which
 * route is this" the same question for the router, the key check and any proxy in front. Anything
 * that normalises to something else (`/%761/model`, `/v1/./model`, `http://x/v1/model`) could be
 * routed somewhere its spelling does not say, and is refused rather than interpreted.
 */
export function isNormalRequestTarget(target: string): boolean {
  if (!target.startsWith('/')) return false; // absolute-form, authority-form, asterisk-form
  const queryAt = target.indexOf('?');
  const path = queryAt === -1 ? target : target.slice(0, queryAt);
  if (!PATH_CHARACTERS.test(path)) return false;
  const segments = path.split('/').slice(1);
  // Empty segments (`//`) anywhere but last (`/docs/`), and dot segments anywhere.
  if (segments.slice(0, -1).some((segment) => segment === '')) return false;
  if (segments.some((segment) => segment === '.' || segment === '..')) return false;
  return encodingsAreNormal(path);
}

/** Every `%XX` must stand for a byte that needs encoding, and together they must be valid UTF-8 (no overlong forms). */
function encodingsAreNormal(path: string): boolean {
  for (const [escape] of path.matchAll(PERCENT_ENCODED)) {
    if (escape.length !== 3) return false;
    const byte = Number.parseInt(escape.slice(1), 16);
    if (byte >= 0x80) continue;
    if (byte < 0x20 || byte === 0x7f || byte === 0x2f || byte === 0x5c) return false;
    if (NEEDS_NO_ENCODING.test(String.fromCharCode(byte))) return false;
  }
  try {
    // ECMAScript's decoder refuses invalid UTF-8, overlong forms (`%C0%AF`) and surrogates included.
    decodeURIComponent(path);
    return true;
  } catch {
    return false;
  }
}

/** The 400 for a target that is not a normal path; it never quotes the target. */
export function badRequestTarget(): ProblemError {
  return new ProblemError(PROBLEM.badRequestTarget, BAD_REQUEST_TARGET_DETAIL);
}
