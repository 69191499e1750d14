import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { renderCommittedOpenApiYaml } from '../../scripts/openapi-document.js';
import { buildOpenApiDocument } from '../../src/bootstrap/openapi.js';
import request from '../support/contract-request.js';
import { loadOpenApiDocument, OPENAPI_FILE, type OpenApiDocument } from '../support/openapi-contract.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

type Json = Record<string, unknown>;

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'];

function operations(document: OpenApiDocument): [string, string, Json][] {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => METHODS.includes(method))
      .map(([method, operation]) => [path, method, operation as unknown as Json] as [string, string, Json]),
  );
}

/** Every schema object in the document, with a JSON pointer-ish location for messages. */
function schemasIn(node: unknown, where: string, out: [string, Json][] = []): [string, Json][] {
  if (Array.isArray(node)) node.forEach((item, i) => schemasIn(item, `${where}/${i}`, out));
  else if (typeof node === 'object' && node !== null) {
    for (const [key, value] of Object.entries(node)) {
      if (key === 'example' || key === 'examples') continue;
      if (key === 'schema' || key === 'items' || key === 'additionalProperties') {
        if (typeof value === 'object' && value !== null) out.push([`${where}/${key}`, value as Json]);
      }
      if (key === 'properties' || (key === 'schemas' && where.endsWith('components'))) {
        for (const [name, schema] of Object.entries(value as Json))
          out.push([`${where}/${key}/${name}`, schema as Json]);
      }
      schemasIn(value, `${where}/${key}`, out);
    }
  }
  return out;
}

describe('the committed OpenAPI contract (openapi.yaml)', () => {
  const committed = readFileSync(OPENAPI_FILE, 'utf8');
  const document = loadOpenApiDocument();

  it('is exactly what the app generates (run `npm run openapi:export` after changing the API)', async () => {
    const generated = await renderCommittedOpenApiYaml();
    if (generated !== committed) {
      const a = committed.split('\n');
      const b = generated.split('\n');
      const line = a.findIndex((text, i) => text !== b[i]);
      throw new Error(
        `openapi.yaml is out of date: run \`npm run openapi:export\`.\nFirst difference at line ${line + 1}:\n` +
          `  committed: ${a[line]}\n  generated: ${b[line]}`,
      );
    }
  });

  it('gives every operation an operationId, a tag, a summary and a description', () => {
    const ids = operations(document).map(([path, method, operation]) => {
      expect({ path, method, operationId: operation.operationId }).toEqual({
        path,
        method,
        operationId: expect.stringMatching(/^[a-z][A-Za-z]+$/),
      });
      expect(operation.tags).toEqual([expect.any(String)]);
      expect(operation.summary).toEqual(expect.stringMatching(/\S/));
      // More than 20 characters once trimmed.
      expect(operation.description).toEqual(expect.stringMatching(/\S[\s\S]{19,}\S/));
      return operation.operationId;
    });
    expect(ids).toEqual(expect.arrayContaining(['predictSentiment', 'getModelInfo']));
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('describes every schema property', () => {
    const undescribed = schemasIn(document, '#')
      .filter(([where]) => /\/properties\/[^/]+$/.test(where))
      .filter(([, schema]) => typeof schema.description !== 'string' || schema.description.trim() === '')
      .map(([where]) => where);
    expect(undescribed).toEqual([]);
  });

  it.each([
    ['/v1/sentiment/predict', 'post', [400, 401, 413, 415, 422, 429, 503]],
    ['/v1/model', 'get', [401, 429, 503]],
  ])('documents every error of %s as a Problem (application/problem+json)', (path, method, statuses) => {
    const responses = (document.paths[path][method] as unknown as { responses: Record<string, Json> }).responses;
    for (const status of statuses) {
      const response = responses[String(status)];
      expect({ status, content: Object.keys((response?.content as Json) ?? {}) }).toEqual({
        status,
        content: ['application/problem+json'],
      });
      expect(response.content).toEqual({
        'application/problem+json': expect.objectContaining({ schema: { $ref: '#/components/schemas/Problem' } }),
      });
    }
    expect(Object.keys(responses).filter((status) => Number(status) >= 400)).toEqual(statuses.map(String));
  });

  it('documents X-Request-Id on every response, X-Cache on predictions, Retry-After on 503, WWW-Authenticate on 401', () => {
    for (const [path, method, operation] of operations(document)) {
      for (const [status, response] of Object.entries(operation.responses as Record<string, Json>)) {
        const headers = (response.headers ?? {}) as Json;
        expect({ path, method, status, requestId: headers['X-Request-Id'] }).toEqual({
          path,
          method,
          status,
          requestId: { $ref: '#/components/headers/X-Request-Id' },
        });
        if (status === '503' && path.startsWith('/v1/')) {
          expect(headers['Retry-After']).toEqual({ $ref: '#/components/headers/Retry-After' });
        }
        if (status === '429') {
          for (const name of ['Retry-After', 'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset']) {
            expect(headers[name]).toEqual({ $ref: `#/components/headers/${name}` });
          }
        }
        if (status === '401') {
          expect(headers['WWW-Authenticate']).toEqual({ $ref: '#/components/headers/WWW-Authenticate' });
        }
      }
    }
    const predicted = (document.paths['/v1/sentiment/predict'].post as unknown as { responses: Record<string, Json> })
      .responses['200'];
    expect(predicted.headers).toEqual(expect.objectContaining({ 'X-Cache': { $ref: '#/components/headers/X-Cache' } }));
    for (const [path, method, operation] of operations(document)) {
      if (operation.deprecated !== true) continue;
      const ok = (operation.responses as Record<string, Json>)['200'];
      expect({ path, method, headers: Object.keys((ok.headers ?? {}) as Json) }).toEqual({
        path,
        method,
        headers: expect.arrayContaining(['Deprecation', 'Link']),
      });
    }
    expect(Object.keys(document.components.headers ?? {}).sort()).toEqual([
      'Deprecation',
      'Link',
      'RateLimit-Limit',
      'RateLimit-Remaining',
      'RateLimit-Reset',
      'Retry-After',
      'WWW-Authenticate',
      'X-Cache',
      'X-Request-Id',
    ]);
  });

  it('states the request limits of the default settings: 1..1000 texts of at most 10000 characters', () => {
    const text = (document.components.schemas.PredictRequest.properties as Record<string, Json>).text;
    expect(text).toEqual(
      expect.objectContaining({ minItems: 1, maxItems: 1000, items: { type: 'string', maxLength: 10000 } }),
    );
  });
});

describe('the document the running app serves', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ MAX_BATCH_SIZE: '64', MAX_TEXT_CHARS: '280' }, { loadModel: false });
  });
  afterAll(() => t.close());

  it('takes its limits from the settings (MAX_BATCH_SIZE, MAX_TEXT_CHARS)', () => {
    const text = (buildOpenApiDocument(t.app).components?.schemas?.PredictRequest as { properties: Json }).properties
      .text as Json;
    expect(text).toEqual(expect.objectContaining({ maxItems: 64, items: { type: 'string', maxLength: 280 } }));
  });

  it('is the same document at /openapi.json, /openapi.yaml and in Swagger UI', async () => {
    const server = t.app.getHttpServer();
    const built = JSON.parse(JSON.stringify(buildOpenApiDocument(t.app)));
    const json = await request(server).get('/openapi.json');
    expect(json.status).toBe(200);
    expect(json.headers['content-type']).toMatch(/^application\/json/);
    expect(json.body).toEqual(built);
    const yaml = await request(server).get('/openapi.yaml');
    expect(yaml.status).toBe(200);
    expect(yaml.headers['content-type']).toMatch(/^text\/yaml/);
    expect(parse(yaml.text)).toEqual(built);
    const init = await request(server).get('/docs/swagger-ui-init.js');
    expect(init.status).toBe(200);
    expect(init.text).toContain('"operationId": "predictSentiment"');
    expect(init.text).toContain('"deepLinking": true');
  });

  it('serves Swagger UI at /docs', async () => {
    const response = await request(t.app.getHttpServer()).get('/docs');
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/html/);
    expect(response.text).toContain('swagger-ui');
  });
});
