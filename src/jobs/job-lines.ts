import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
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
 * Reads an NDJSON body line by line as it arrives (never the whole body at once), validating each
 * line as the predict route validates a text, and yields the texts in groups of `groupSize`. Throws
 * a 422 naming the first bad line, or a 413 once the body passes `maxBytes` or `maxTexts`; empty
 * lines are skipped (they still count for line numbers).
 */
export async function* readJobLines(
  body: Readable,
  limits: JobLineLimits,
  groupSize: number,
): AsyncGenerator<JobLine[], number> {
  let bytes = 0;
  let tooLarge: ProblemError | undefined;
  body.on('data', (data: Buffer) => {
    bytes += data.length;
    if (bytes > limits.maxBytes && !tooLarge) {
      tooLarge = jobTooLarge(`The body is larger than JOB_MAX_BYTES (${limits.maxBytes} bytes).`);
      body.destroy();
    }
  });
  const lines = createInterface({ input: body, crlfDelay: Infinity });
  let lineNumber = 0;
  let texts = 0;
  let group: JobLine[] = [];
  try {
    for await (const raw of lines) {
      lineNumber++;
      if (tooLarge) throw tooLarge;
      if (raw.trim() === '') continue;
      if (++texts > limits.maxTexts) {
        throw jobTooLarge(`The job has more than JOB_MAX_TEXTS (${limits.maxTexts}) texts.`);
      }
      group.push(parseLine(raw, lineNumber, limits.maxTextChars));
      if (group.length === groupSize) {
        yield group;
        group = [];
      }
    }
  } catch (error) {
    throw tooLarge ?? error;
  } finally {
    lines.close();
  }
  if (tooLarge) throw tooLarge;
  if (texts === 0) throw invalidLine(0, [{ path: '', message: 'the body must have at least one line' }]);
  if (group.length > 0) yield group;
  return texts;
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

function invalidLine(line: number, errors: { path: string; message: string }[]): ProblemError {
  return new ProblemError(
    422,
    'validation',
    'Unprocessable Content',
    line === 0
      ? 'The body is not a valid job; nothing was created.'
      : `Line ${line} is not a valid job line; nothing was created.`,
    errors,
  );
}

function jobTooLarge(detail: string): ProblemError {
  return new ProblemError(413, 'payload-too-large', 'Payload Too Large', `${detail} Nothing was created.`);
}
