import { createHash } from 'node:crypto';
import { freshTexts } from '../cache/cache-test-helpers.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { acceptedJob, JobClient, ndjson } from './job-client.js';
import { baseUrlOf, idempotencyBindings, inspectorOf, storedJobIds, type Inspector } from './job-redis-state.js';

const NOT_FOUND = 'urn:sentiment-api:problem:job-not-found';
const TOKEN_A = 'victim-token-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const TOKEN_B = 'attacker-token-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';
const KEY_A = 'isolation-key-aaaaaaaaaaaaaaaa';
const KEY_B = 'isolation-key-bbbbbbbbbbbbbbbb';
const NEVER_EXISTED = '00000000-0000-4000-8000-000000000000';

/** A problem body without what differs per request, to compare two refusals. */
async function problemOf(response: Response): Promise<Record<string, unknown>> {
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  const { requestId: _requestId, ...problem } = (await response.json()) as Record<string, unknown>;
  return problem;
}

/** The reads and the cancel a caller may try on a job, each answered. */
async function everyRoute(client: JobClient, id: string): Promise<Response[]> {
  return [await client.status(id), await client.results(id), await client.cancel(id)];
}

/** A raw call to a job route with exactly these headers (JobClient adds the token it knows). */
function call(baseUrl: string, method: 'GET' | 'DELETE', path: string, headers: Record<string, string>) {
  return fetch(`${baseUrl}/v1/sentiment/jobs/${path}`, { method, headers });
}

describe('job isolation without API keys (job tokens)', () => {
  let redis: RedisServer;
  let inspector: Inspector;
  let t: TestApp;
  let baseUrl: string;
  /** What a job that never existed answers on each route: every refusal must be exactly that. */
  const absentFor = async (method: 'GET' | 'DELETE', path: string) => {
    const response = await call(baseUrl, method, path, { 'job-token': TOKEN_A });
    expect(response.status).toBe(404);
    return problemOf(response);
  };
  /** Answers of {@link everyRoute} are those of a job that never existed, field for field. */
  const expectAbsent = async (responses: Response[]) => {
    const expected = [
      await absentFor('GET', NEVER_EXISTED),
      await absentFor('GET', `${NEVER_EXISTED}/results`),
      await absentFor('DELETE', NEVER_EXISTED),
    ];
    for (const [i, response] of responses.entries()) {
      expect(response.status).toBe(404);
      expect(await problemOf(response)).toEqual(expected[i]);
    }
  };

  beforeAll(async () => {
    redis = await startRedisServer({ own: true });
    inspector = await inspectorOf(redis.url);
    t = await startTestApp({ REDIS_URL: redis.url, RATE_LIMIT_ENABLED: 'false' });
    await t.app.listen(0, '127.0.0.1');
    baseUrl = baseUrlOf(t.app.getHttpServer());
    expect(await absentFor('GET', NEVER_EXISTED)).toMatchObject({ type: NOT_FOUND, status: 404 });
  });
  afterAll(async () => {
    await t?.close();
    await inspector?.disconnect();
    await redis?.stop();
  });

  it('mints a token for a submission without one; the id alone, a malformed or another token find nothing', async () => {
    const owner = new JobClient(baseUrl);
    const job = await acceptedJob(await owner.submit(ndjson(freshTexts(300, 'minted'))));
    expect(job.jobToken).toMatch(/^[\x21-\x7e]{32,256}$/);
    const token = job.jobToken!;

    const paths: ['GET' | 'DELETE', string][] = [
      ['GET', job.id],
      ['GET', `${job.id}/results`],
      ['DELETE', job.id],
    ];
    const strangers: Record<string, string>[] = [
      {},
      { 'job-token': '' },
      { 'job-token': token.slice(0, 31) },
      { 'job-token': `${token}x` },
      { 'job-token': TOKEN_B },
    ];
    for (const headers of strangers) {
      for (const [method, path] of paths) {
        const response = await call(baseUrl, method, path, headers);
        expect([method, path, headers, response.status]).toEqual([method, path, headers, 404]);
        expect(await problemOf(response)).toEqual(await absentFor(method, path.replace(job.id, NEVER_EXISTED)));
      }
    }

    // None of those cancels touched it: it completes for its token, with every result.
    expect(await owner.waitForEnd(job.id, 30_000)).toMatchObject({ state: 'completed', textsDone: 300 });
    const lines = await owner.resultLines(job.id);
    expect(lines.map((line) => line.id)).toEqual(Array.from({ length: 300 }, (_, i) => `r${i}`));
    // The token is answered once: the status route never shows it.
    expect(await (await call(baseUrl, 'GET', job.id, { 'job-token': token })).json()).not.toHaveProperty('jobToken');
  });

  it('a job submitted with its own Job-Token belongs to it; none is minted', async () => {
    const owner = new JobClient(baseUrl, undefined, TOKEN_A);
    const job = await acceptedJob(await owner.submit(ndjson(freshTexts(5, 'own-token'))));
    expect(job).not.toHaveProperty('jobToken');
    expect((await owner.status(job.id)).status).toBe(200);
    await expectAbsent(await everyRoute(new JobClient(baseUrl, undefined, TOKEN_B), job.id));
    // Another client holding the same token is the same owner.
    expect((await new JobClient(baseUrl, undefined, TOKEN_A).status(job.id)).status).toBe(200);
    expect(await owner.waitForEnd(job.id, 30_000)).toMatchObject({ state: 'completed' });
  });

  it('refuses a malformed Job-Token on submission with 422, and creates nothing', async () => {
    const before = await storedJobIds(inspector);
    const malformed = ['x'.repeat(31), 'x'.repeat(257), `${'x'.repeat(20)} ${'x'.repeat(20)}`, `${'é'.repeat(40)}`];
    for (const token of malformed) {
      const response = await fetch(`${baseUrl}/v1/sentiment/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-ndjson', 'job-token': token },
        body: ndjson(['a fine day']),
      });
      expect([token, response.status]).toEqual([token, 422]);
      expect(await response.json()).toMatchObject({
        type: 'urn:sentiment-api:problem:validation',
        errors: [{ path: 'Job-Token' }],
      });
    }
    // The bounds themselves are accepted.
    for (const token of ['t'.repeat(32), 't'.repeat(256)]) {
      expect((await new JobClient(baseUrl, undefined, token).submit(ndjson(['fine']))).status).toBe(202);
    }
    expect((await storedJobIds(inspector)).length).toBe(before.length + 2);
  });

  it('refuses an Idempotency-Key without a Job-Token with 422, and creates nothing', async () => {
    const before = await storedJobIds(inspector);
    const response = await new JobClient(baseUrl).submit(ndjson(['no token']), { 'idempotency-key': 'k-no-token' });
    expect(response.status).toBe(422);
    expect(await response.json()).toMatchObject({
      type: 'urn:sentiment-api:problem:validation',
      errors: [{ path: 'Job-Token' }],
    });
    expect(await storedJobIds(inspector)).toEqual(before);
    expect(await idempotencyBindings(inspector, 'k-no-token')).toEqual([]);
  });

  it("scopes an Idempotency-Key to its token: another token with the victim's key and body gets a job of its own", async () => {
    const texts = freshTexts(600, 'victim');
    const body = ndjson(texts);
    // As the CLI does: the key derives from the file, so anyone with the same file knows it.
    const key = createHash('sha256').update(body).digest('hex');
    const victim = new JobClient(baseUrl, undefined, TOKEN_A);
    const attacker = new JobClient(baseUrl, undefined, TOKEN_B);

    const first = await acceptedJob(await victim.submit(body, { 'idempotency-key': key }));
    const taken = await acceptedJob(await attacker.submit(body, { 'idempotency-key': key }));
    expect(taken.id).not.toBe(first.id);
    // Each token's retry answers its own job.
    expect((await acceptedJob(await victim.submit(body, { 'idempotency-key': key }))).id).toBe(first.id);
    expect((await acceptedJob(await attacker.submit(body, { 'idempotency-key': key }))).id).toBe(taken.id);
    expect(await idempotencyBindings(inspector, key)).toHaveLength(2);

    // The attacker reads only its own job: the victim's is absent for it, and a cancel changes nothing.
    await expectAbsent(await everyRoute(attacker, first.id));
    expect(await victim.waitForEnd(first.id, 30_000)).toMatchObject({ state: 'completed', textsDone: 600 });
    expect(await attacker.waitForEnd(taken.id, 30_000)).toMatchObject({ state: 'completed', textsDone: 600 });
    const victimLines = await victim.resultLines(first.id);
    expect(victimLines).toHaveLength(600);
    expect(await attacker.resultLines(taken.id)).toEqual(victimLines);
    for (const response of [await attacker.status(first.id), await attacker.results(first.id)]) {
      expect(response.status).toBe(404);
    }
    // The victim's job is not readable through the attacker's job either.
    for (const response of await everyRoute(victim, taken.id)) expect(response.status).toBe(404);
  });

  it("a cancel with a wrong token leaves the victim's running job running, to completion", async () => {
    const victim = new JobClient(baseUrl, undefined, TOKEN_A);
    const total = 6000;
    const job = await acceptedJob(await victim.submit(ndjson(freshTexts(total, 'cancel-victim'))));
    const strangers: Record<string, string>[] = [{}, { 'job-token': TOKEN_B }, { 'job-token': 'short' }];
    for (const headers of strangers) {
      const response = await call(baseUrl, 'DELETE', job.id, headers);
      expect(response.status).toBe(404);
      expect(await problemOf(response)).toEqual(await absentFor('DELETE', NEVER_EXISTED));
    }
    // Not cancelled (6,000 texts take the tiny model about a second, so it is most likely still running).
    const now = (await (await victim.status(job.id)).json()) as { state: string };
    expect(['queued', 'running', 'completed']).toContain(now.state);
    expect(await victim.waitForEnd(job.id, 60_000)).toMatchObject({ state: 'completed', textsDone: total });
    expect(await victim.resultLines(job.id)).toHaveLength(total);
  }, 90_000);
});

describe('job isolation with API keys (jobs belong to the key; Job-Token ignored)', () => {
  let redis: RedisServer;
  let inspector: Inspector;
  let t: TestApp;
  let baseUrl: string;

  beforeAll(async () => {
    redis = await startRedisServer({ own: true });
    inspector = await inspectorOf(redis.url);
    t = await startTestApp({ REDIS_URL: redis.url, API_KEYS: `${KEY_A},${KEY_B}`, RATE_LIMIT_ENABLED: 'false' });
    await t.app.listen(0, '127.0.0.1');
    baseUrl = baseUrlOf(t.app.getHttpServer());
  });
  afterAll(async () => {
    await t?.close();
    await inspector?.disconnect();
    await redis?.stop();
  });

  it("key B finds nothing of key A's job, even with the Job-Token A sent; A reads it without one", async () => {
    const a = new JobClient(baseUrl, KEY_A, TOKEN_A);
    const job = await acceptedJob(await a.submit(ndjson(freshTexts(400, 'key-a'))));
    expect(job).not.toHaveProperty('jobToken');
    for (const b of [new JobClient(baseUrl, KEY_B), new JobClient(baseUrl, KEY_B, TOKEN_A)]) {
      const expected = await Promise.all((await everyRoute(b, NEVER_EXISTED)).map(problemOf));
      expect(expected[0]).toMatchObject({ type: NOT_FOUND, status: 404 });
      for (const [i, response] of (await everyRoute(b, job.id)).entries()) {
        expect(response.status).toBe(404);
        expect(await problemOf(response)).toEqual(expected[i]);
      }
    }
    const aWithoutToken = new JobClient(baseUrl, KEY_A);
    expect(await aWithoutToken.waitForEnd(job.id, 30_000)).toMatchObject({ state: 'completed', textsDone: 400 });
    expect(await aWithoutToken.resultLines(job.id)).toHaveLength(400);
    // With API keys a malformed Job-Token is ignored, not refused.
    expect((await new JobClient(baseUrl, KEY_A, 'short').submit(ndjson(['ignored token']))).status).toBe(202);
  });

  it("key B with key A's Idempotency-Key and body gets a new job of its own", async () => {
    const body = ndjson(freshTexts(300, 'shared-file'));
    const key = createHash('sha256').update(body).digest('hex');
    const a = new JobClient(baseUrl, KEY_A);
    const b = new JobClient(baseUrl, KEY_B);
    const mine = await acceptedJob(await a.submit(body, { 'idempotency-key': key }));
    const theirs = await acceptedJob(await b.submit(body, { 'idempotency-key': key }));
    expect(theirs.id).not.toBe(mine.id);
    expect((await acceptedJob(await b.submit(body, { 'idempotency-key': key }))).id).toBe(theirs.id);
    expect((await acceptedJob(await a.submit(body, { 'idempotency-key': key }))).id).toBe(mine.id);
    for (const response of await everyRoute(b, mine.id)) expect(response.status).toBe(404);
    expect(await a.waitForEnd(mine.id, 30_000)).toMatchObject({ state: 'completed', textsDone: 300 });
    expect(await b.waitForEnd(theirs.id, 30_000)).toMatchObject({ state: 'completed', textsDone: 300 });
    expect(await b.resultLines(theirs.id)).toHaveLength(300);
    expect(await idempotencyBindings(inspector, key)).toHaveLength(2);
  });
});
