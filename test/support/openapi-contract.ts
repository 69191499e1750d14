import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

/** The committed contract, as partners and the SDK see it. */
export const OPENAPI_FILE = join(process.cwd(), 'openapi.yaml');

type Json = Record<string, unknown>;

interface MediaType {
  schema?: Json;
}
interface HeaderSpec {
  required?: boolean;
  schema?: Json;
}
interface ResponseSpec {
  content?: Record<string, MediaType>;
  headers?: Record<string, HeaderSpec | { $ref: string }>;
}
interface Operation {
  operationId: string;
  responses: Record<string, ResponseSpec | { $ref: string }>;
}
export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Json>; headers?: Record<string, HeaderSpec> };
}

/** What the validator needs of a response (supertest's, or one built from fetch). */
export interface ObservedResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON body, or undefined when there is none. */
  body: unknown;
  /** Raw body text. */
  text?: string;
}

const PROBLEM_CONTENT_TYPE = 'application/problem+json';
const DOCUMENT_ID = 'openapi';

export function loadOpenApiDocument(file = OPENAPI_FILE): OpenApiDocument {
  return parse(readFileSync(file, 'utf8')) as OpenApiDocument;
}

/** OpenAPI-only annotations that are not JSON Schema keywords (ajv's strict mode rejects them). */
const ANNOTATIONS = new Set(['example', 'xml', 'externalDocs', 'deprecated', 'discriminator']);

/**
 * OpenAPI 3.0 schema → JSON Schema for ajv: `nullable` becomes a `null` type, annotations are
 * dropped, component refs point into the registered schemas, and objects are closed
 * (`additionalProperties: false` unless the contract says otherwise) so an undocumented field in a
 * response fails validation.
 */
export function toJsonSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(toJsonSchema);
  if (typeof schema !== 'object' || schema === null) return schema;
  const { nullable, ...rest } = schema as Json;
  const result: Json = {};
  for (const [key, value] of Object.entries(rest)) {
    if (ANNOTATIONS.has(key)) continue;
    if (key === '$ref' && typeof value === 'string') {
      result.$ref = value.replace(/^#\/components\/schemas\//, `${DOCUMENT_ID}#/definitions/`);
    } else if (key === 'properties' || key === 'patternProperties') {
      result[key] = Object.fromEntries(Object.entries(value as Json).map(([name, s]) => [name, toJsonSchema(s)]));
    } else result[key] = toJsonSchema(value);
  }
  if (result.properties && result.additionalProperties === undefined) result.additionalProperties = false;
  if (nullable === true) return { anyOf: [result, { type: 'null' }] };
  return result;
}

function headerValue(headers: ObservedResponse['headers'], name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value.join(', ') : value;
}

function pathPattern(template: string): RegExp {
  const escaped = template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{[^}]+\\?\}|\{[^}]+\}/g, '[^/]+');
  return new RegExp(`^${escaped}$`);
}

/**
 * Checks responses against the contract: status documented for the operation, content type one
 * of the documented ones, body valid against its schema, required headers present and valid.
 * Paths outside the contract (Swagger UI, metrics) are only held to "errors are problems".
 */
export class OpenApiContract {
  private readonly ajv: Ajv;
  private readonly validators = new Map<string, ValidateFunction>();

  constructor(readonly document: OpenApiDocument = loadOpenApiDocument()) {
    this.ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false });
    (addFormatsModule as unknown as (ajv: Ajv) => void)(this.ajv);
    const schemas = Object.entries(document.components.schemas).map(([name, schema]) => [name, toJsonSchema(schema)]);
    this.ajv.addSchema({ $id: DOCUMENT_ID, definitions: Object.fromEntries(schemas) });
  }

  /** Throws an Error saying exactly how the response leaves the contract. */
  assertResponse(method: string, url: string, response: ObservedResponse): void {
    const path = new URL(url, 'http://contract.invalid').pathname;
    const where = `${method.toUpperCase()} ${path} → ${response.status}`;
    const operation = this.operation(method.toLowerCase(), path);
    if (!operation) {
      if (response.status >= 400) this.assertProblem(where, response);
      return;
    }
    const spec = this.resolve<ResponseSpec>(
      operation.responses[String(response.status)] ?? operation.responses.default,
    );
    if (!spec) {
      throw new Error(`${where}: status ${response.status} is not documented for ${operation.operationId}`);
    }
    this.assertHeaders(where, spec, response);
    this.assertBody(where, spec, response);
  }

  /** Validates a value against a named component schema (e.g. `Problem`); returns ajv's errors. */
  schemaErrors(schemaName: string, value: unknown): string | undefined {
    return this.errorsFor({ $ref: `#/components/schemas/${schemaName}` }, value);
  }

  /** Validates a value against any OpenAPI schema of the document (refs into components allowed). */
  errorsFor(schema: unknown, value: unknown): string | undefined {
    const key = JSON.stringify(schema);
    let validate = this.validators.get(key);
    if (!validate) {
      validate = this.ajv.compile(toJsonSchema(schema) as object);
      this.validators.set(key, validate);
    }
    return validate(value) ? undefined : this.ajv.errorsText(validate.errors, { dataVar: 'body' });
  }

  private operation(method: string, path: string): Operation | undefined {
    for (const [template, item] of Object.entries(this.document.paths)) {
      if (pathPattern(template).test(path) && item[method]) return item[method];
    }
    return undefined;
  }

  private resolve<T>(value: T | { $ref: string } | undefined): T | undefined {
    if (!value || typeof value !== 'object' || !('$ref' in value)) return value;
    const [, section, name] = /^#\/components\/(\w+)\/(.+)$/.exec(value.$ref) ?? [];
    return (this.document.components as unknown as Record<string, Record<string, T>>)[section]?.[name];
  }

  private assertHeaders(where: string, spec: ResponseSpec, response: ObservedResponse): void {
    for (const [name, reference] of Object.entries(spec.headers ?? {})) {
      const header = this.resolve<HeaderSpec>(reference);
      const value = headerValue(response.headers, name);
      if (value === undefined) {
        if (header?.required) throw new Error(`${where}: the documented header ${name} is missing`);
        continue;
      }
      if (!header?.schema) continue;
      const typed = header.schema.type === 'integer' || header.schema.type === 'number' ? Number(value) : value;
      const errors = this.errorsFor(header.schema, typed);
      if (errors) throw new Error(`${where}: header ${name}: ${JSON.stringify(value)} ${errors}`);
    }
  }

  private assertBody(where: string, spec: ResponseSpec, response: ObservedResponse): void {
    const contentType = headerValue(response.headers, 'content-type')?.split(';')[0].trim();
    const documented = Object.keys(spec.content ?? {});
    if (documented.length === 0) {
      if (response.text) throw new Error(`${where}: has a body, but the contract documents none`);
      return;
    }
    if (!contentType || !documented.includes(contentType)) {
      throw new Error(`${where}: content type ${contentType} is not documented (${documented.join(', ')})`);
    }
    const schema = spec.content?.[contentType].schema;
    if (!schema) return;
    const errors = this.errorsFor(schema, response.body);
    if (errors)
      throw new Error(`${where}: body does not match the contract: ${errors}\n${JSON.stringify(response.body)}`);
  }

  private assertProblem(where: string, response: ObservedResponse): void {
    const contentType = headerValue(response.headers, 'content-type')?.split(';')[0].trim();
    if (contentType !== PROBLEM_CONTENT_TYPE)
      throw new Error(`${where}: an error outside the contract must be a problem`);
    const errors = this.schemaErrors('Problem', response.body);
    if (errors) throw new Error(`${where}: not a valid Problem: ${errors}`);
  }
}

let shared: OpenApiContract | undefined;

/** One contract per test file: the committed openapi.yaml, compiled once. */
export function openApiContract(): OpenApiContract {
  shared ??= new OpenApiContract();
  return shared;
}
