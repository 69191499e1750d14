import fc from 'fast-check';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { startTestApp, type TestApp } from '../support/test-app.js';

/**
 * Property-based fuzzing of POST /v1/sentiment/predict with fast-check, in-process (Fastify
 * inject). `FUZZ_RUNS` scales every property for nightly runs (`npm run fuzz:nightly`); the
 * default keeps the whole suite to a few thousand cases.
 */
// Test-only knob, like REDIS_URL in redis-server.ts: the app's settings never see it.
const RUNS = Number(process.env.FUZZ_RUNS ?? 500);
const PREDICT = '/v1/sentiment/predict';
const CONTRACT_STATUSES = [200, 400, 404, 413, 415, 422];

interface Answer {
  status: number;
  body: string;
  contentType: string;
}

async function send(
  app: NestFastifyApplication,
  payload: string | Buffer,
  contentType = 'application/json',
  url = PREDICT,
): Promise<Answer> {
  const response = await app
    .getHttpAdapter()
    .getInstance()
    .inject({ method: 'POST', url, headers: { 'content-type': contentType }, payload });
  return { status: response.statusCode, body: response.body, contentType: String(response.headers['content-type']) };
}

/** The longest field name, of printable ASCII, a 422 may name back; any other is only counted. */
const NAMEABLE_FIELD = /^[\x21-\x7e]{1,32}$/;

function safeDecode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

/** Strings inside a value, the ones an error body must never echo (short ones collide with words). */
function submittedStrings(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') {
    if (value.length >= 8) out.push(value);
  } else if (Array.isArray(value)) value.forEach((item) => submittedStrings(item, out));
  else if (typeof value === 'object' && value !== null)
    Object.values(value).forEach((item) => submittedStrings(item, out));
  return out;
}

function checkAnswer(answer: Answer, submitted: string[]): void {
  expect(CONTRACT_STATUSES).toContain(answer.status);
  if (answer.status === 200) return;
  expect(answer.contentType).toMatch(/^application\/problem\+json/);
  const problem = JSON.parse(answer.body) as { status: number };
  expect(problem.status).toBe(answer.status);
  expect(answer.body).not.toMatch(/\bat .+\.(js|ts):\d+/);
  expect(answer.body).not.toContain('stack');
  for (const text of submitted) expect(answer.body).not.toContain(JSON.stringify(text).slice(1, -1));
}

describe('fuzzing POST /v1/sentiment/predict (fast-check)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ RATE_LIMIT_ENABLED: 'false', MAX_TEXT_CHARS: '2000', MAX_BATCH_SIZE: '64' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('arbitrary JSON values as the body: a contract status, never a stack or an echoed string', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 4 }), async (value) => {
        checkAnswer(await send(t.app, JSON.stringify(value) ?? 'null'), submittedStrings(value));
      }),
      { numRuns: RUNS },
    );
  });

  it('bodies shaped like a request, with wrong or extra fields', async () => {
    const field = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 5 }));
    await fc.assert(
      fc.asyncProperty(fc.record({ text: field, extra: field }, { requiredKeys: [] }), async (body) => {
        checkAnswer(await send(t.app, JSON.stringify(body)), submittedStrings(body));
      }),
      { numRuns: RUNS },
    );
  });

  it('unknown fields of any name: only short printable names come back, the others are counted', async () => {
    const name = fc.oneof(
      fc.string({ unit: 'binary', minLength: 1, maxLength: 80 }),
      fc.string({ minLength: 33, maxLength: 200 }),
      fc.stringMatching(/^[a-z]{1,32}$/),
    );
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(name, { minLength: 1, maxLength: 5 }), async (names) => {
        // Names every object has (`constructor`, `__proto__`) are not seen as unknown by class-validator.
        const unknown = names.filter((field) => field !== 'text' && !(field in {}));
        fc.pre(unknown.length > 0);
        const body = Object.fromEntries([['text', ['fine']], ...unknown.map((field) => [field, 1])]);
        const answer = await send(t.app, JSON.stringify(body));
        checkAnswer(answer, []);
        expect(answer.status).toBe(422);
        const { errors } = JSON.parse(answer.body) as { errors: { path: string; message: string }[] };
        const named = unknown.filter((field) => NAMEABLE_FIELD.test(field));
        expect(errors.map((error) => error.path).filter((path) => path !== '')).toEqual(expect.arrayContaining(named));
        for (const field of unknown.filter((field) => !NAMEABLE_FIELD.test(field) && field.length >= 4)) {
          expect(answer.body).not.toContain(JSON.stringify(field).slice(1, -1));
        }
        const counted = unknown.length - named.length;
        if (counted > 0) expect(errors.at(-1)?.message).toMatch(new RegExp(`^${counted} unknown field`));
      }),
      { numRuns: RUNS },
    );
  });

  it('any path: an error body never quotes it', async () => {
    const segment = fc.oneof(
      fc.string({ unit: 'binary', minLength: 8, maxLength: 40 }).map(encodeURIComponent),
      fc.stringMatching(/^[A-Za-z0-9._~%;:@!$&'()*+,=-]{8,40}$/),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(segment, { minLength: 1, maxLength: 3 }), async (segments) => {
        const path = `/v1/${segments.join('/')}`;
        const answer = await send(t.app, JSON.stringify({ text: ['fine'] }), 'application/json', path);
        checkAnswer(answer, []);
        for (const part of segments) {
          expect(answer.body).not.toContain(part);
          expect(answer.body).not.toContain(safeDecode(part));
        }
      }),
      { numRuns: Math.ceil(RUNS / 2) },
    );
  });

  it('any unicode text, lone surrogates and NUL included: 200 with one prediction per text, or 422', async () => {
    const text = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 300 }),
      fc.string({ unit: 'grapheme', maxLength: 50 }),
      fc.constantFrom('\u0000', '\ud800', '\udfff', 'a\u0000b', '\ud83d', '\u202e\ufeff', ' '),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(text, { minLength: 1, maxLength: 8 }), async (texts) => {
        const answer = await send(t.app, JSON.stringify({ text: texts }));
        checkAnswer(answer, submittedStrings(texts));
        expect([200, 422]).toContain(answer.status);
        if (answer.status === 200) {
          const predictions = (JSON.parse(answer.body) as { predictions: { score: number }[][] }).predictions;
          expect(predictions).toHaveLength(texts.length);
          for (const prediction of predictions) {
            expect(Math.abs(prediction.reduce((sum, s) => sum + s.score, 0) - 1)).toBeLessThan(1e-5);
          }
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('raw bytes sent as JSON: 400, 422 or 200, never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), async (bytes) => {
        checkAnswer(await send(t.app, Buffer.from(bytes)), []);
      }),
      { numRuns: RUNS },
    );
  });

  it('wrong content types: 415 (422 for an empty body)', async () => {
    const contentType = fc.oneof(
      fc.constantFrom('text/plain', 'application/xml', 'multipart/form-data', 'application/x-www-form-urlencoded'),
      fc.stringMatching(/^[a-z]{1,10}\/[a-z0-9.+-]{1,15}$/).filter((type) => !/json/.test(type)),
    );
    await fc.assert(
      fc.asyncProperty(contentType, fc.string({ maxLength: 100 }), async (type, payload) => {
        const answer = await send(t.app, payload, type);
        checkAnswer(answer, submittedStrings(payload));
        // An empty body has nothing to parse whatever its type: it is a missing `text` (422).
        expect(payload === '' ? [415, 422] : [400, 415]).toContain(answer.status);
      }),
      { numRuns: Math.ceil(RUNS / 2) },
    );
  });

  it('deeply nested and huge bodies: 400, 413 or 422, never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 100, max: 50_000 }), fc.boolean(), async (depth, wrapped) => {
        const nested = `${'['.repeat(depth)}${']'.repeat(depth)}`;
        const answer = await send(t.app, wrapped ? `{"text":${nested}}` : nested);
        checkAnswer(answer, []);
        expect([400, 422]).toContain(answer.status);
      }),
      { numRuns: 30 },
    );
    const huge = await send(t.app, JSON.stringify({ text: ['x'.repeat(3 * 1024 * 1024)] }));
    checkAnswer(huge, []);
    expect(huge.status).toBe(413);
    const many = await send(t.app, JSON.stringify({ text: Array.from({ length: 10_000 }, () => 'a') }));
    checkAnswer(many, []);
    expect(many.status).toBe(422);
  });
});
