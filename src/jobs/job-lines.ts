import type { Hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { UnavailableError } from '../common/unavailable-error.js';
import { PROBLEM } from '../http/problem-catalogue.js';
import { ProblemError } from '../http/problem.js';
import { unknownFieldErrors } from '../sentiment/predict-request.pipe.js';
import { textError } from '../sentiment/text-rules.js';

/** One text of a job: its 1-based line in the submission and the caller's id for it, if any. */
export interface JobLine {
  line: number;
  text: string;
  id?: string;
}

export interface JobLineLimits {
  maxTexts: number;
  maxBytes: number;
  maxTextChars: number;
}

/** A caller's id is echoed in every result line: short, so results stay small. */
const MAX_ID_CHARS = 256;

/**
 * The bytes of a valid line around its two strings: `{"text":"","id":""}` with both keys written as
 * `\uXXXX` escapes (`"text"` 26 bytes, `"id"` 14), the two pairs of value quotes, two colons, a comma
 * and the braces: 49 bytes.
 */
const LINE_FRAME_BYTES = 49;
/**
 * Whitespace between the tokens, where JSON allows any amount: a generous allowance. A line padded
 * with more (or repeating a key) is refused as too long; no NDJSON writer produces one.
 */
const LINE_WHITESPACE_BYTES = 4096;

/**
 * The longest valid line, in bytes (its terminator aside), given MAX_TEXT_CHARS:
 *
 *   12 × maxTextChars + 6 × MAX_ID_CHARS + LINE_FRAME_BYTES + LINE_WHITESPACE_BYTES
 *
 * `text` holds at most maxTextChars Unicode characters, and the most bytes one character can take
 * in JSON is 12: a character past U+FFFF escaped as a surrogate pair, `\uD83D\uDE00` (a UTF-8
 * sequence is at most 4 bytes, a BMP character escaped `\uXXXX` 6). `id` holds at most MAX_ID_CHARS
 * UTF-16 units, each at most 6 bytes (`\uXXXX`). With the defaults (MAX_TEXT_CHARS 10 000):
 * 120 000 + 1 536 + 49 + 4 096 = 125 681 bytes.
 */
export function maxLineBytes(maxTextChars: number): number {
  return 12 * maxTextChars + 6 * MAX_ID_CHARS + LINE_FRAME_BYTES + LINE_WHITESPACE_BYTES;
}

/**
 * Reads an NDJSON body line by line as it arrives (never the whole body at once), validating each
 * line as the predict route validates a text, and yields the texts in groups of `groupSize`. Throws
 * a 422 naming the first bad line, or a 413 once the body passes `maxBytes` or `maxTexts`; empty
 * lines are skipped (they still count for line numbers). Returns the number of texts.
 *
 * Memory is bounded while reading: a line is held only up to `maxLineBytes(maxTextChars)` bytes; a
 * longer one is refused (422) as soon as it passes that, without waiting for its end. On any refusal
 * the body is left paused, not destroyed (destroying a request destroys its socket, and the route
 * must still answer the problem); a refusal before the body's end also closes the connection.
 */
export async function* readJobLines(
  body: Readable,
  limits: JobLineLimits,
  groupSize: number,
  /** Fed every byte of the body as it is read (the Idempotency-Key binds the body's digest). */
  digest?: Hash,
): AsyncGenerator<JobLine[], number> {
  const maxLine = maxLineBytes(limits.maxTextChars);
  const splitter = new LineSplitter(maxLine);
  let bytes = 0;
  let lineNumber = 0;
  let texts = 0;
  let group: JobLine[] = [];
  const take = (raw: Buffer) => {
    lineNumber++;
    const line = raw.toString('utf8');
    if (line.trim() === '') return;
    if (++texts > limits.maxTexts) {
      throw jobTooLarge(`The job has more than JOB_MAX_TEXTS (${limits.maxTexts}) texts.`);
    }
    group.push(parseLine(line, lineNumber, limits.maxTextChars));
  };
  // The iterator must not destroy the body when this generator stops early (see above).
  const chunks = body.iterator({ destroyOnReturn: false }) as AsyncIterableIterator<Buffer | string>;
  try {
    for await (const data of chunks) {
      const chunk = typeof data === 'string' ? Buffer.from(data) : data;
      bytes += chunk.length;
      digest?.update(chunk);
      if (bytes > limits.maxBytes) {
        throw jobTooLarge(`The body is larger than JOB_MAX_BYTES (${limits.maxBytes} bytes).`);
      }
      for (const raw of splitter.push(chunk)) {
        take(raw);
        if (group.length === groupSize) {
          yield group;
          group = [];
        }
      }
      if (splitter.tooLong) throw lineTooLong(lineNumber + 1, maxLine);
    }
    const last = splitter.end();
    if (last) take(last);
  } catch (error) {
    throw refusedMidBody(error, body);
  } finally {
    // Nothing more is read: a refused body stays where it is (the answer does not wait for it).
    body.pause();
  }
  if (texts === 0) throw invalidLine(0, [{ path: '', message: 'the body must have at least one line' }]);
  if (group.length > 0) yield group;
  return texts;
}

const LF = 0x0a;
const CR = 0x0d;

/**
 * Splits a byte stream into lines, as `readline` with `crlfDelay: Infinity` did: a line ends at
 * `\n`, `\r\n` (also when the two arrive in different chunks) or a lone `\r`, and a last line
 * without an ending counts when it is not empty. Lines are whole Buffers, so a UTF-8 character
 * split between chunks is decoded whole (line endings are ASCII and never inside one).
 *
 * Not `readline`: it decodes and holds a whole line before it hands it over, with no limit and no
 * way to look at a line still arriving, so one endless line grows the heap without bound (three
 * concurrent 200 MB lines took 1.3 GB; five crashed the process out of heap). Here the line being
 * read is held only up to `maxLineBytes`; past that `tooLong` is set and nothing more is kept.
 */
export class LineSplitter {
  /** The current line's bytes so far, copied out of their chunks (so no chunk is kept whole). */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** The last chunk ended with `\r`: a `\n` first in the next one ends no new line. */
  private afterCR = false;
  /** The line being read (the one after the lines returned) is longer than `maxLineBytes`. */
  tooLong = false;

  constructor(private readonly maxLineBytes: number) {}

  /** The lines `chunk` ends, in order; stops (and sets `tooLong`) at a line that is too long. */
  push(chunk: Buffer): Buffer[] {
    const lines: Buffer[] = [];
    if (this.tooLong || chunk.length === 0) return lines;
    let start = 0;
    if (this.afterCR) {
      this.afterCR = false;
      if (chunk[0] === LF) start = 1;
    }
    let lf = chunk.indexOf(LF, start);
    let cr = chunk.indexOf(CR, start);
    while (lf !== -1 || cr !== -1) {
      const end = lf === -1 ? cr : cr === -1 ? lf : Math.min(lf, cr);
      if (this.pendingBytes + (end - start) > this.maxLineBytes) return this.refuse(lines);
      lines.push(this.finish(chunk.subarray(start, end)));
      start = end + 1;
      if (end === cr) {
        if (start === chunk.length) this.afterCR = true;
        else if (chunk[start] === LF) start++;
      }
      if (lf !== -1 && lf < start) lf = chunk.indexOf(LF, start);
      if (cr !== -1 && cr < start) cr = chunk.indexOf(CR, start);
    }
    if (start < chunk.length) {
      const rest = chunk.length - start;
      if (this.pendingBytes + rest > this.maxLineBytes) return this.refuse(lines);
      this.pending.push(Buffer.from(chunk.subarray(start)));
      this.pendingBytes += rest;
    }
    return lines;
  }

  /** The last line, when the stream ended inside one. */
  end(): Buffer | undefined {
    if (this.tooLong || this.pendingBytes === 0) return undefined;
    return this.finish(Buffer.alloc(0));
  }

  private finish(tail: Buffer): Buffer {
    if (this.pending.length === 0) return tail;
    this.pending.push(tail);
    const line = Buffer.concat(this.pending, this.pendingBytes + tail.length);
    this.pending = [];
    this.pendingBytes = 0;
    return line;
  }

  private refuse(lines: Buffer[]): Buffer[] {
    this.tooLong = true;
    this.pending = [];
    this.pendingBytes = 0;
    return lines;
  }
}

function parseLine(raw: string, line: number, maxTextChars: number): JobLine {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw invalidLine(line, [{ path: `line[${line}]`, message: 'is not valid JSON' }]);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidLine(line, [{ path: `line[${line}]`, message: 'must be a JSON object with a "text" string' }]);
  }
  const { text, id, ...unknown } = value as Record<string, unknown>;
  const errors = unknownFieldErrors(Object.keys(unknown)).map((error) => ({
    path: `line[${line}]${error.path ? `.${error.path}` : ''}`,
    message: error.message,
  }));
  const textMessage = textError(text, maxTextChars);
  if (textMessage !== undefined) errors.push({ path: `line[${line}].text`, message: textMessage });
  if (id !== undefined && (typeof id !== 'string' || id.length > MAX_ID_CHARS)) {
    errors.push({ path: `line[${line}].id`, message: `must be a string of at most ${MAX_ID_CHARS} characters` });
  }
  if (errors.length > 0) throw invalidLine(line, errors);
  return id === undefined ? { line, text: text as string } : { line, text: text as string, id: id as string };
}

function lineTooLong(line: number, maxLine: number): ProblemError {
  return invalidLine(line, [
    {
      path: `line[${line}]`,
      message: `is longer than the longest valid line (${maxLine} bytes, for MAX_TEXT_CHARS characters of text)`,
    },
  ]);
}

function invalidLine(line: number, errors: { path: string; message: string }[]): ProblemError {
  return new ProblemError(
    PROBLEM.validation,
    line === 0
      ? 'The body is not a valid job; nothing was created.'
      : `Line ${line} is not a valid job line; nothing was created.`,
    { errors },
  );
}

/** Whether the whole body has come: a request knows (`complete`) before its end has been read. */
function arrived(body: Readable): boolean {
  return body.readableEnded || (body as Readable & { complete?: boolean }).complete === true;
}

/**
 * A submission refused while its body is still arriving (a bad line, a quota, Redis down): the
 * rest is not read, so the connection can carry no further request. `Connection: close` has Node
 * end it after the answer (and the lingering close reads off what the client is still sending, so
 * the answer reaches it). Other errors, and refusals after the body's end, pass unchanged.
 */
export function refusedMidBody(error: unknown, body: Readable): unknown {
  if (arrived(body)) return error;
  if (error instanceof UnavailableError) {
    return new UnavailableError(error.message, error.retryAfterSeconds, error.reason, {
      ...error.headers,
      connection: 'close',
    });
  }
  if (!(error instanceof ProblemError)) return error;
  return error.withHeaders({ connection: 'close' });
}

function jobTooLarge(detail: string): ProblemError {
  return new ProblemError(PROBLEM.payloadTooLarge, `${detail} Nothing was created.`);
}
