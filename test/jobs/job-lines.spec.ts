import { Readable } from 'node:stream';
import { ProblemError } from '../../src/http/problem.js';
import { maxLineBytes, readJobLines, type JobLine, type JobLineLimits } from '../../src/jobs/job-lines.js';

const LIMITS: JobLineLimits = { maxTexts: 1000, maxBytes: 1024 * 1024 * 1024, maxTextChars: 20 };
const PIECE = Buffer.alloc(64 * 1024, 'a');

interface Read {
  groups: JobLine[][];
  total: number;
}

/** Runs readJobLines to its end: the groups it yields and the count it returns. */
async function read(body: Readable, limits: Partial<JobLineLimits> = {}, groupSize = 1000): Promise<Read> {
  const lines = readJobLines(body, { ...LIMITS, ...limits }, groupSize);
  const groups: JobLine[][] = [];
  for (;;) {
    const next = await lines.next();
    if (next.done) return { groups, total: next.value };
    groups.push(next.value);
  }
}

/** The error readJobLines threw. */
async function refusal(body: Readable, limits: Partial<JobLineLimits> = {}): Promise<ProblemError> {
  const error = await read(body, limits).then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(ProblemError);
  return error as ProblemError;
}

const buffers = (...parts: (string | Buffer)[]) => Readable.from(parts.map((part) => Buffer.from(part)));

/**
 * A source that counts the chunks taken from it: `head`, then `pieces` 64 KiB chunks of `a` (one
 * line with no end), then `tail`.
 */
function countedSource(head: string, pieces: number, tail = '"}\n') {
  const state = { pulled: 0, finished: false };
  function* chunks() {
    yield Buffer.from(head);
    for (let i = 0; i < pieces; i++) {
      state.pulled++;
      yield PIECE;
    }
    yield Buffer.from(tail);
    state.finished = true;
  }
  return { body: Readable.from(chunks()), state };
}

describe('readJobLines: splitting', () => {
  // Multi-byte UTF-8 (2, 3 and 4 bytes), a CRLF, an empty line and a last line with no newline.
  const input = Buffer.from('{"text":"héllo 😀 wörld","id":"r1"}\r\n\n{"text":"second ✓"}\n  \n{"text":"last"}');
  const expected: Read = {
    groups: [
      [
        { line: 1, text: 'héllo 😀 wörld', id: 'r1' },
        { line: 3, text: 'second ✓' },
        { line: 5, text: 'last' },
      ],
    ],
    total: 3,
  };

  it('in one chunk: lines numbered with the empty ones, the last without newline, CRLF stripped', async () => {
    expect(await read(buffers(input))).toEqual(expected);
  });

  it('split into two chunks at every byte position (inside characters and between \\r and \\n)', async () => {
    for (let at = 0; at <= input.length; at++) {
      expect(await read(Readable.from([input.subarray(0, at), input.subarray(at)]))).toEqual(expected);
    }
  });

  it('split into three chunks at every pair of positions', async () => {
    for (let first = 1; first < input.length; first++) {
      for (let second = first + 1; second < input.length; second++) {
        const chunks = [input.subarray(0, first), input.subarray(first, second), input.subarray(second)];
        expect(await read(Readable.from(chunks))).toEqual(expected);
      }
    }
  });

  it('one byte at a time', async () => {
    expect(await read(Readable.from([...input].map((byte) => Buffer.from([byte]))))).toEqual(expected);
  });

  it('string chunks too (a body with an encoding set)', async () => {
    expect(await read(Readable.from([input.toString('utf8')]))).toEqual(expected);
  });

  it('as readline did: a lone \\r ends a line; \\r\\n across chunks is one ending; a final newline adds no line', async () => {
    expect(await read(buffers('{"text":"a"}\r', '\n{"text":"b"}\r{"text":"c"}\r\n'))).toEqual({
      groups: [
        [
          { line: 1, text: 'a' },
          { line: 2, text: 'b' },
          { line: 3, text: 'c' },
        ],
      ],
      total: 3,
    });
    expect(await read(buffers('{"text":"a"}\r\r\n\n{"text":"b"}\n'))).toEqual({
      groups: [
        [
          { line: 1, text: 'a' },
          { line: 4, text: 'b' },
        ],
      ],
      total: 2,
    });
  });

  it('yields groups of groupSize, and returns the number of texts', async () => {
    const body = buffers(...['a', 'b', 'c', 'd', 'e'].map((text) => `{"text":"${text}"}\n`));
    const { groups, total } = await read(body, {}, 2);
    expect(groups.map((group) => group.map((line) => line.text))).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
    expect(total).toBe(5);
  });

  it('refuses a body with no line (empty, or blank lines only) with 422', async () => {
    for (const body of [buffers(), buffers(''), buffers('\n\r\n', '  \n')]) {
      const error = await refusal(body);
      expect(error).toMatchObject({
        status: 422,
        detail: 'The body is not a valid job; nothing was created.',
        errors: [{ path: '', message: 'the body must have at least one line' }],
      });
    }
  });

  it('names the first bad line', async () => {
    const error = await refusal(buffers('{"text":"fine"}\n\n{"text":', '3}\n{"text":"x"}\n'));
    expect(error).toMatchObject({
      status: 422,
      detail: 'Line 3 is not a valid job line; nothing was created.',
      errors: [{ path: 'line[3].text', message: 'must be a string (got number)' }],
    });
  });
});

describe('readJobLines: bounded memory', () => {
  const maxLine = maxLineBytes(LIMITS.maxTextChars);

  it('the bound: 12 bytes per text character, 6 per id character, 49 of frame and 4096 of whitespace', () => {
    expect(maxLineBytes(20)).toBe(12 * 20 + 6 * 256 + 49 + 4096);
    expect(maxLineBytes(10_000)).toBe(125_681);
  });

  it('the longest valid line fits: every character escaped (a surrogate pair each), keys escaped, padded', async () => {
    const text = '\\uD83D\\uDE00'.repeat(LIMITS.maxTextChars);
    const id = '\\u0041'.repeat(256);
    const line = `{"\\u0074\\u0065\\u0078\\u0074":"${text}","\\u0069\\u0064":"${id}"}`;
    expect(line.length).toBe(maxLine - 4096);
    const padded = line.replace('{', `{${' '.repeat(4096)}`);
    expect(Buffer.byteLength(padded)).toBe(maxLine);
    const { groups } = await read(buffers(padded, '\r\n'));
    expect(groups).toEqual([[{ line: 1, text: '😀'.repeat(LIMITS.maxTextChars), id: 'A'.repeat(256) }]]);
  });

  it('a line one byte longer than the bound is refused as too long, whether or not it has ended', async () => {
    const line = `{"text":"a"${' '.repeat(maxLine - 12)}}`;
    expect(Buffer.byteLength(line)).toBe(maxLine);
    expect((await read(buffers(line, '\n'))).total).toBe(1);
    for (const ending of ['\n', '']) {
      const error = await refusal(buffers('{"text":"ok"}\n', ` ${line}${ending}`));
      expect(error).toMatchObject({
        status: 422,
        detail: 'Line 2 is not a valid job line; nothing was created.',
        errors: [
          {
            path: 'line[2]',
            message: `is longer than the longest valid line (${maxLine} bytes, for MAX_TEXT_CHARS characters of text)`,
          },
        ],
      });
    }
  });

  it('refuses an endless line as it streams, with its line number, and stops reading the body', async () => {
    const pieces = 3200; // 200 MB, were it read
    const { body, state } = countedSource('{"text":"a"}\n\r\n{"text":"ok"}\n{"text":"', pieces);
    const error = await refusal(body);
    expect(error).toMatchObject({
      status: 422,
      detail: 'Line 4 is not a valid job line; nothing was created.',
      errors: [
        { path: 'line[4]', message: expect.stringContaining(`longer than the longest valid line (${maxLine} bytes`) },
      ],
      // The rest of the body is not read: the connection is not kept for another request.
      headers: { connection: 'close' },
    });
    // What Readable.from reads ahead (its buffer of 16 objects) and no more.
    expect(state.pulled).toBeLessThan(20);
    expect(state.finished).toBe(false);
    // Paused, not destroyed: destroying a request would destroy its socket before the answer.
    expect(body.destroyed).toBe(false);
    expect(body.isPaused()).toBe(true);
    expect(body.readableEnded).toBe(false);
  });

  it('a bad line before a long one in the same chunk is the one named', async () => {
    const error = await refusal(buffers(`{"text":1}\n{"text":"${'a'.repeat(maxLine)}"}\n`));
    expect(error).toMatchObject({ detail: 'Line 1 is not a valid job line; nothing was created.' });
  });

  it('a refusal once the whole body has come keeps the connection', async () => {
    // A request is `complete` as soon as its last byte has come, before its end is read.
    const request = Object.assign(buffers('{"text":"ok"}\n{"text":2}\n'), { complete: true });
    expect((await refusal(request)).headers).toEqual({});
    expect((await refusal(buffers('\n'))).headers).toEqual({});
  });
});

describe('readJobLines: size limits', () => {
  it('413 once the body passes maxBytes, and stops reading it', async () => {
    const { body, state } = countedSource('{"text":"ok"}\n', 3200);
    const error = await refusal(body, { maxBytes: 256 * 1024, maxTextChars: 1_000_000 });
    expect(error).toMatchObject({
      status: 413,
      detail: 'The body is larger than JOB_MAX_BYTES (262144 bytes). Nothing was created.',
      headers: { connection: 'close' },
    });
    expect(state.pulled).toBeLessThan(25);
    expect(body.destroyed).toBe(false);
  });

  it('413 past maxTexts (empty lines do not count)', async () => {
    expect((await read(buffers('{"text":"a"}\n\n{"text":"b"}\n'), { maxTexts: 2 })).total).toBe(2);
    const error = await refusal(buffers('{"text":"a"}\n\n{"text":"b"}\n{"text":"c"}\n'), { maxTexts: 2 });
    expect(error).toMatchObject({
      status: 413,
      detail: 'The job has more than JOB_MAX_TEXTS (2) texts. Nothing was created.',
    });
  });
});
