import type { IncomingMessage, ServerResponse } from 'node:http';
import request from '../support/contract-request.js';
import { OpenApiContract, toJsonSchema, type ObservedResponse } from '../support/openapi-contract.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const PREDICT = '/v1/sentiment/predict';

function observed(response: {
  status: number;
  headers: ObservedResponse['headers'];
  body: unknown;
  text?: string;
}): ObservedResponse {
  return {
    status: response.status,
    headers: { ...response.headers },
    body: structuredClone(response.body),
    text: response.text,
  };
}

/** The validator the e2e suites rely on must reject what the contract does not allow. */
describe('response validation against openapi.yaml', () => {
  const contract = new OpenApiContract();
  let t: TestApp;
  let ok: ObservedResponse;
  let invalid: ObservedResponse;
  let unavailable: ObservedResponse;

  beforeAll(async () => {
    t = await startTestApp();
    const server = t.app.getHttpServer();
    ok = observed(
      await request(server)
        .post(PREDICT)
        .send({ text: ['I love you'] }),
    );
    invalid = observed(await request(server).post(PREDICT).send({ text: [] }));
    const loading = await startTestApp({}, { loadModel: false });
    try {
      unavailable = observed(await request(loading.app.getHttpServer()).get('/v1/model'));
    } finally {
      await loading.close();
    }
  });
  afterAll(() => t.close());

  it('accepts the real answers', () => {
    expect(() => contract.assertResponse('post', PREDICT, ok)).not.toThrow();
    expect(() => contract.assertResponse('post', PREDICT, invalid)).not.toThrow();
    expect(() => contract.assertResponse('get', '/v1/model', unavailable)).not.toThrow();
  });

  it.each<[string, (r: ObservedResponse) => void, RegExp]>([
    ['an undocumented field', (r) => ((r.body as Record<string, unknown>).debug = true), /additional properties/],
    ['a missing field', (r) => delete (r.body as Record<string, unknown>).model, /must have required property 'model'/],
    [
      'a score that is not a number',
      (r) => ((r.body as { predictions: { score: unknown }[][] }).predictions[0][0].score = '0.5'),
      /must be number/,
    ],
    [
      'details that are not an array',
      (r) => ((r.body as Record<string, unknown>).details = { tokens: 3 }),
      /must be array/,
    ],
    ['an undocumented status', (r) => (r.status = 500), /status 500 is not documented for predictSentiment/],
    ['another content type', (r) => (r.headers['content-type'] = 'text/plain'), /content type text\/plain/],
    ['no X-Cache', (r) => delete r.headers['x-cache'], /header X-Cache is missing/],
    ['an unknown X-Cache value', (r) => (r.headers['x-cache'] = 'MAYBE'), /header X-Cache/],
    ['no X-Request-Id', (r) => delete r.headers['x-request-id'], /header X-Request-Id is missing/],
  ])('rejects a prediction with %s', (_case, spoil, message) => {
    const spoiled = observed(ok);
    spoil(spoiled);
    expect(() => contract.assertResponse('post', PREDICT, spoiled)).toThrow(message);
  });

  it('rejects a validation problem sent as application/json or without its fields', () => {
    const asJson = observed(invalid);
    asJson.headers['content-type'] = 'application/json; charset=utf-8';
    expect(() => contract.assertResponse('post', PREDICT, asJson)).toThrow(/content type application\/json/);
    const incomplete = observed(invalid);
    delete (incomplete.body as Record<string, unknown>).requestId;
    expect(() => contract.assertResponse('post', PREDICT, incomplete)).toThrow(/requestId/);
  });

  it('rejects a 503 without Retry-After, or with a non-positive one', () => {
    const without = observed(unavailable);
    delete without.headers['retry-after'];
    expect(() => contract.assertResponse('get', '/v1/model', without)).toThrow(/Retry-After is missing/);
    const zero = observed(unavailable);
    zero.headers['retry-after'] = '0';
    expect(() => contract.assertResponse('get', '/v1/model', zero)).toThrow(/Retry-After/);
  });

  it('holds errors of routes outside the contract to the Problem schema', async () => {
    const notFound = observed(await request(t.app.getHttpServer()).get('/v1/nothing-here'));
    expect(() => contract.assertResponse('get', '/v1/nothing-here', notFound)).not.toThrow();
    notFound.headers['content-type'] = 'text/html';
    expect(() => contract.assertResponse('get', '/v1/nothing-here', notFound)).toThrow(/must be a problem/);
  });

  it('makes the supertest wrapper fail a request whose response leaves the contract', async () => {
    const plainTextError = (_request: IncomingMessage, response: ServerResponse) => {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not here');
    };
    await expect(request(plainTextError).get('/anything')).rejects.toThrow(/must be a problem/);
  });

  it('reads OpenAPI 3.0 `nullable` as "or null" and ignores `example`', () => {
    expect(
      toJsonSchema({ type: 'object', nullable: true, example: {}, properties: { a: { type: 'string' } } }),
    ).toEqual({
      anyOf: [{ type: 'object', properties: { a: { type: 'string' } }, additionalProperties: false }, { type: 'null' }],
    });
  });
});
