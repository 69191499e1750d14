import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject, type SchemaObject } from '@nestjs/swagger';
import { stringify } from 'yaml';
import { SETTINGS } from '../config/config.module.js';
import type { Settings } from '../config/settings.js';
import { API_KEY_SCHEME, BEARER_SCHEME } from '../auth/api-key-security.js';
import { headerRef, RESPONSE_HEADERS } from '../http/openapi-responses.js';

const DESCRIPTION = `Classifies texts as POSITIVE or NEGATIVE, with a confidence for each label, using DistilBERT
fine-tuned on SST-2 (\`Xenova/distilbert-base-uncased-finetuned-sst-2-english\`, ONNX) on ONNX Runtime.

Request and response bodies have the shape of the well-known FastAPI sentiment service
(\`{"text": [...]}\` → \`{"predictions": [[{label, score}, ...]]}\`).

Errors are RFC 9457 problem details (\`application/problem+json\`, schema \`Problem\`). Every response
carries \`X-Request-Id\`.

When the service runs with API keys (\`API_KEYS\`), every \`/v1\` operation needs one, as
\`Authorization: Bearer <key>\` or \`X-API-Key: <key>\`; otherwise it answers 401.`;

/**
 * The one place the OpenAPI document is built, for the running app (`/docs`, `/openapi.json`,
 * `/openapi.yaml`) and for `npm run openapi:export`. DTOs describe the shapes; the settings decide
 * the limits; keys are put in a fixed order so the committed file diffs cleanly.
 */
export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setOpenAPIVersion('3.0.3')
    .setTitle('Sentiment API')
    .setDescription(DESCRIPTION)
    .setVersion('1.0.0')
    .setLicense('MIT', 'https://opensource.org/license/mit')
    // Relative: Swagger UI and generated clients talk to wherever the document was served from.
    .addServer('/', 'This service')
    .addTag('sentiment', 'Classify texts and describe the model that does it.')
    .addTag('jobs', 'Bulk scoring: submit a dataset as NDJSON, follow its progress, read its results.')
    .addTag('health', 'Liveness and readiness probes for Kubernetes.')
    .addTag(
      'compatibility',
      'The FastAPI original’s routes (`/project/...`), deprecated aliases so its clients can move by changing only the host.',
    )
    .addSecurity(BEARER_SCHEME, {
      type: 'http',
      scheme: 'bearer',
      description: 'An API key as a bearer token: `Authorization: Bearer <key>`. Needed only when `API_KEYS` is set.',
    })
    .addSecurity(API_KEY_SCHEME, {
      type: 'apiKey',
      in: 'header',
      name: 'X-API-Key',
      description: 'The same API key in its own header. Needed only when `API_KEYS` is set.',
    })
    .build();
  config.components = { ...config.components, headers: RESPONSE_HEADERS };
  // Probes and docs need no credentials; the /v1 operations declare their own (`ApiKeySecurity`).
  config.security = [];
  delete config.info.contact;
  const document = SwaggerModule.createDocument(app, config);
  applyRequestLimits(document, app.get<Settings>(SETTINGS));
  documentRequestIdHeader(document);
  return inCanonicalOrder(document);
}

/** Serves Swagger UI at /docs and the same document as /openapi.json and /openapi.yaml. */
export function serveOpenApi(app: INestApplication): void {
  const document = buildOpenApiDocument(app);
  SwaggerModule.setup('docs', app, document, {
    raw: ['json'],
    jsonDocumentUrl: 'openapi.json',
    customSiteTitle: 'Sentiment API',
    swaggerOptions: { deepLinking: true, displayOperationId: true, displayRequestDuration: true },
  });
  // Served by us rather than SwaggerModule so it is byte for byte the committed openapi.yaml.
  const yaml = toOpenApiYaml(document);
  const http = app.getHttpAdapter();
  http.get('/openapi.yaml', (_request: unknown, reply: unknown) => {
    http.setHeader(reply, 'content-type', 'text/yaml; charset=utf-8');
    http.reply(reply, yaml, 200);
  });
}

export function toOpenApiYaml(document: OpenAPIObject): string {
  // Single quotes: the output is exactly what Prettier makes of it, so `prettier --check` passes.
  return stringify(document, { lineWidth: 0, aliasDuplicateObjects: false, singleQuote: true });
}

/** `maxItems` = MAX_BATCH_SIZE and item `maxLength` = MAX_TEXT_CHARS, from the settings the app runs with. */
function applyRequestLimits(document: OpenAPIObject, settings: Settings): void {
  const request = document.components?.schemas?.PredictRequest as SchemaObject | undefined;
  const text = request?.properties?.text as SchemaObject | undefined;
  if (!text?.items) throw new Error('OpenAPI: the PredictRequest schema has no text array');
  text.maxItems = settings.maxBatchSize;
  (text.items as SchemaObject).maxLength = settings.maxTextChars;
}

/** Every response carries X-Request-Id (set by a Fastify hook, invisible to the decorators). */
function documentRequestIdHeader(document: OpenAPIObject): void {
  for (const operation of operationsOf(document)) {
    for (const response of Object.values(operation.responses ?? {})) {
      if (!response || '$ref' in response) continue;
      response.headers = { 'X-Request-Id': headerRef('X-Request-Id'), ...response.headers };
    }
  }
}

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

function operationsOf(document: OpenAPIObject) {
  return Object.values(document.paths).flatMap((item) =>
    HTTP_METHODS.flatMap((method) => (item[method] ? [item[method]] : [])),
  );
}

type Json = Record<string, unknown>;

/** Keys in `first` come first in that order, the rest alphabetically. */
function ordered<T extends object>(
  object: T,
  first: readonly string[] = [],
  compare?: (a: string, b: string) => number,
): T {
  const keys = Object.keys(object);
  const rest = keys.filter((key) => !first.includes(key)).sort(compare);
  const result: Json = {};
  for (const key of [...first.filter((key) => keys.includes(key)), ...rest]) result[key] = (object as Json)[key];
  return result as T;
}

const byNumber = (a: string, b: string) => Number(a) - Number(b) || a.localeCompare(b);

/**
 * Fixes the order of the document's maps (paths, operations, responses, components) so the
 * output does not depend on module or decorator order. Schemas keep their property order, which
 * is the order the DTOs declare and the order generated types show.
 */
function inCanonicalOrder(document: OpenAPIObject): OpenAPIObject {
  const paths = ordered(document.paths);
  for (const [path, item] of Object.entries(paths)) {
    const orderedItem = ordered(item, HTTP_METHODS) as Json;
    for (const method of HTTP_METHODS) {
      const operation = orderedItem[method] as Json | undefined;
      if (!operation) continue;
      const responses = ordered(operation.responses as Json, [], byNumber);
      for (const [status, response] of Object.entries(responses)) {
        responses[status] = ordered(response as Json, ['description', 'headers', 'content']);
      }
      if (Array.isArray(operation.parameters) && operation.parameters.length === 0) delete operation.parameters;
      orderedItem[method] = ordered({ ...operation, responses }, [
        'operationId',
        'summary',
        'description',
        'tags',
        'parameters',
        'requestBody',
        'responses',
      ]);
    }
    paths[path] = orderedItem;
  }
  const components = ordered(document.components ?? {}) as Json;
  for (const [section, entries] of Object.entries(components)) components[section] = ordered(entries as Json);
  return ordered({ ...document, paths, components }, [
    'openapi',
    'info',
    'servers',
    'tags',
    'security',
    'paths',
    'components',
  ]);
}
