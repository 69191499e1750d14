import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';

/**
 * The small parsers the setting definitions (settings.ts) are built from. Each turns one raw value
 * into a typed one or throws an {@link InvalidSettingError} naming the variable. Values that may be
 * secrets (keys, URLs with passwords) are never echoed in a message.
 */

export class InvalidSettingError extends Error {
  constructor(
    readonly variable: string,
    expected: string,
    received: string,
  ) {
    super(`Invalid configuration: ${variable} must be ${expected} (got ${JSON.stringify(received)})`);
    this.name = 'InvalidSettingError';
  }
}

/** A set variable's value, trimmed; or the trimmed content of the file its `_FILE` variable names. */
export interface RawValue {
  /** The variable the value came from, for messages. */
  readonly variable: string;
  readonly text: string;
  /** The file the text was read from, when it came through a `_FILE` variable. */
  readonly file?: string;
}

/** Reads one raw value; `accepts` says in words what it takes (a column of the docs table). */
export interface Parser<T> {
  (raw: RawValue): T;
  readonly accepts: string;
}

function parser<T>(accepts: string, parse: (raw: RawValue) => T): Parser<T> {
  return Object.assign(parse, { accepts });
}

/** What a message may show of a value that may be a secret: the file it came from, or nothing. */
function hidden(raw: RawValue): string {
  return raw.file ?? '<hidden>';
}

export function integer(min: number, max: number): Parser<number> {
  return parser(`integer, ${min}–${max}`, ({ variable, text }) => {
    const value = Number(text);
    if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(value) || value < min || value > max) {
      throw new InvalidSettingError(variable, `an integer from ${min} to ${max}`, text);
    }
    return value;
  });
}

export function oneOf<T extends string>(allowed: readonly T[]): Parser<T> {
  return parser(allowed.map((value) => `\`${value}\``).join(', '), ({ variable, text }) => {
    if (!(allowed as readonly string[]).includes(text)) {
      throw new InvalidSettingError(variable, `one of ${allowed.join(', ')}`, text);
    }
    return text as T;
  });
}

export const boolean = parser('`true` or `false` (`1`/`0`, `yes`/`no`)', ({ variable, text }) => {
  const lower = text.toLowerCase();
  if (['true', '1', 'yes'].includes(lower)) return true;
  if (['false', '0', 'no'].includes(lower)) return false;
  throw new InvalidSettingError(variable, 'true or false', text);
});

export function text(pattern?: RegExp, expected?: string): Parser<string> {
  return parser(expected ?? 'text', (raw) => {
    if (pattern && !pattern.test(raw.text)) {
      throw new InvalidSettingError(raw.variable, expected ?? `like ${pattern}`, raw.text);
    }
    return raw.text;
  });
}

/** A URL of one of `schemes`; never echoed, since it may carry a password. */
export function url(schemes: readonly string[]): Parser<string> {
  const pattern = new RegExp(`^(${schemes.join('|')})://\\S+$`);
  const expected = `a ${schemes.map((scheme) => `${scheme}://`).join(' or ')} URL`;
  return parser(expected, (raw) => {
    if (!pattern.test(raw.text)) throw new InvalidSettingError(raw.variable, expected, hidden(raw));
    return raw.text;
  });
}

/** A base URL of one of `schemes`, without trailing slashes, so paths join to it without `//`. */
export function baseUrl(schemes: readonly string[]): Parser<string> {
  const pattern = new RegExp(`^(${schemes.join('|')})://[^\\s/?#]+(/[^\\s?#]*)?$`);
  const expected = `a ${schemes.map((scheme) => `${scheme}://`).join(' or ')} URL without query`;
  return parser(expected, (raw) => {
    if (!pattern.test(raw.text)) throw new InvalidSettingError(raw.variable, expected, hidden(raw));
    return raw.text.replace(/\/+$/, '');
  });
}

/** An access token (sent as a bearer token): printable, without spaces; never echoed. */
export const bearerToken = parser('1–1024 printable characters, no spaces', (raw) => {
  if (!/^[\x21-\x7e]{1,1024}$/.test(raw.text)) {
    throw new InvalidSettingError(raw.variable, 'a token of printable characters without spaces', hidden(raw));
  }
  return raw.text;
});

/** A SHA-256 digest, 64 hex digits, kept lower-case. */
export const sha256 = parser('64 hex digits', ({ variable, text }) => {
  if (!/^[0-9a-fA-F]{64}$/.test(text)) throw new InvalidSettingError(variable, 'a SHA-256 of 64 hex digits', text);
  return text.toLowerCase();
});

/** A secret of at least `minLength` characters, inline or from a file; never echoed. */
export function secret(minLength: number): Parser<string> {
  return parser(`${minLength}+ characters`, (raw) => {
    if (raw.text.length < minLength) {
      const expected =
        raw.file === undefined ? `at least ${minLength} characters` : `a file of at least ${minLength} characters`;
      throw new InvalidSettingError(raw.variable, expected, hidden(raw));
    }
    return raw.text;
  });
}

/**
 * The path of a readable PEM file holding a certificate (the first of a bundle is checked) or a
 * private key, read at start so a missing or wrong mount stops the process instead of every TLS
 * handshake failing later. The contents are never echoed.
 */
export function pemFile(holds: 'certificate' | 'private key'): Parser<string> {
  const expected = `a readable PEM file holding a ${holds}`;
  return parser(`path of a PEM ${holds} file`, ({ variable, text }) => {
    try {
      const pem = readFileSync(text);
      if (holds === 'certificate') new X509Certificate(pem);
      else createPrivateKey(pem);
    } catch {
      throw new InvalidSettingError(variable, expected, text);
    }
    return text;
  });
}

const API_KEY = /^[\x21-\x2b\x2d-\x7e]{16,512}$/;

/**
 * API keys: comma-separated inline, or one per line in a file (e.g. a mounted Kubernetes Secret).
 * Duplicates are dropped; a file must hold at least one key.
 */
export const keys = parser('comma-separated keys of 16–512 printable characters, no spaces', (raw) => {
  const list = raw.text
    .split(raw.file === undefined ? ',' : /\r?\n/)
    .map((key) => key.trim())
    .filter((key) => key !== '');
  if (list.some((key) => !API_KEY.test(key))) {
    throw new InvalidSettingError(
      raw.variable,
      'keys of 16 to 512 printable characters without spaces or commas',
      hidden(raw),
    );
  }
  if (raw.file !== undefined && list.length === 0) {
    throw new InvalidSettingError(raw.variable, 'a file with at least one key', raw.file);
  }
  return [...new Set(list)];
});

/** Exactly one key, held to the same rules as API keys. */
export const key = parser('one key of 16–512 printable characters, no spaces or commas', (raw) => {
  const [only, ...others] = keys(raw);
  if (only === undefined || others.length > 0) throw new InvalidSettingError(raw.variable, 'one key', hidden(raw));
  return only;
});

/** Comma-separated browser origins such as `https://app.example.com` (scheme, host, optional port). */
export const origins = parser('comma-separated origins: scheme, host, optional port', ({ variable, text }) => {
  const list = text
    .split(',')
    .map((origin) => origin.trim())
    .filter((origin) => origin !== '');
  const invalid = list.find((origin) => !/^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?$/.test(origin));
  if (invalid !== undefined) {
    throw new InvalidSettingError(variable, 'comma-separated origins like https://app.example.com', invalid);
  }
  return [...new Set(list)];
});

function isAddressOrCidr(entry: string): boolean {
  const [address, prefix, ...rest] = entry.split('/');
  const version = isIP(address);
  if (version === 0 || rest.length > 0) return false;
  return prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (version === 4 ? 32 : 128));
}

/**
 * `true`, `false`, or the comma-separated IPs/CIDRs of the proxies in front. No hop count: Fastify
 * 5.12.1 and later ignore one, because it cannot tell a proxy from a client that connects directly
 * and writes its own `X-Forwarded-For`.
 */
export const trustedProxies = parser<boolean | string[]>(
  '`true`, `false`, or comma-separated IP addresses and CIDRs',
  ({ variable, text }) => {
    if (text.toLowerCase() === 'false') return false;
    if (text.toLowerCase() === 'true') return true;
    const list = text
      .split(',')
      .map((entry) => entry.trim())
      .filter((entry) => entry !== '');
    if (list.length === 0 || !list.every(isAddressOrCidr)) {
      throw new InvalidSettingError(
        variable,
        'true, false or the comma-separated IP addresses or CIDRs of the proxies, e.g. 10.240.0.0/16 (a hop count is not supported)',
        text,
      );
    }
    return [...new Set(list)];
  },
);
