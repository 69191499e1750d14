import type { KubernetesObject } from './manifests.js';

/**
 * Validates Kubernetes objects against the API's OpenAPI schemas, as compiled by the npm package
 * `kubernetes-models` (one class per apiVersion/kind, `validate()` throws on a schema violation).
 *
 * Those validators check types, enums, formats and required fields, but they accept unknown fields:
 * the Kubernetes schemas do not say `additionalProperties: false`. The API server, though, rejects
 * unknown fields (`kubectl apply` validates strictly), and a typo such as `imagePullPolcy` would
 * otherwise pass silently. So the validator runs on a proxy of the object that records which keys
 * the schema reads: the compiled code reads every property it declares, and enumerates maps (labels,
 * ConfigMap data, resource quantities). A present key that the schema never read is a field the
 * schema does not have.
 */

export interface SchemaProblem {
  path: string;
  message: string;
}

interface Visit {
  read: Set<string>;
  enumerated: boolean;
}

type ModelClass = new (data: unknown) => { validate(): void };

const modelClasses = new Map<string, Promise<ModelClass>>();
let imports: Promise<unknown> = Promise.resolve();

async function importModelClass(apiVersion: string, kind: string): Promise<ModelClass> {
  let module: Record<string, unknown> & { default?: Record<string, unknown> };
  try {
    module = (await import(`kubernetes-models/${apiVersion}/${kind}`)) as typeof module;
  } catch (error) {
    if ((error as { code?: string }).code !== 'MODULE_NOT_FOUND') throw error;
    module = {};
  }
  const found = module[kind] ?? module.default?.[kind];
  if (typeof found !== 'function') throw new Error(`kubernetes-models has no ${apiVersion} ${kind}`);
  return found as ModelClass;
}

/** `kubernetes-models/<apiVersion>/<Kind>`: core objects live under `v1/`, others under `<group>/<version>/`. */
function modelClass(apiVersion: string, kind: string): Promise<ModelClass> {
  // One import at a time: Jest's ESM loader fails when imports sharing a dependency overlap.
  const key = `${apiVersion}/${kind}`;
  if (!modelClasses.has(key)) {
    const loading = imports.catch(() => undefined).then(() => importModelClass(apiVersion, kind));
    modelClasses.set(key, loading);
    imports = loading;
  }
  return modelClasses.get(key)!;
}

/** Wraps `value` so that every key a reader touches is recorded in `visits` (per object). */
function recordReads(value: object, visits: WeakMap<object, Visit>): object {
  const children = new Map<PropertyKey, unknown>();
  // Created on the first trap only: a value the schema just type-checks (a free-form object) is
  // never entered, so nothing below it can be reported.
  const visit = (): Visit => {
    let found = visits.get(value);
    if (!found) visits.set(value, (found = { read: new Set(), enumerated: false }));
    return found;
  };
  return new Proxy(value, {
    get(target, key) {
      if (typeof key === 'string') visit().read.add(key);
      const child: unknown = Reflect.get(target, key);
      if (child === null || typeof child !== 'object') return child;
      if (!children.has(key)) children.set(key, recordReads(child, visits));
      return children.get(key);
    },
    has(target, key) {
      if (typeof key === 'string') visit().read.add(key);
      return Reflect.has(target, key);
    },
    ownKeys(target) {
      visit().enumerated = true;
      return Reflect.ownKeys(target);
    },
  });
}

function unreadKeys(value: unknown, visits: WeakMap<object, Visit>, path: string): string[] {
  if (value === null || typeof value !== 'object') return [];
  if (Array.isArray(value)) return value.flatMap((item, index) => unreadKeys(item, visits, `${path}/${index}`));
  const visit = visits.get(value);
  if (!visit) return [];
  return Object.entries(value).flatMap(([key, child]) =>
    visit.enumerated || visit.read.has(key) ? unreadKeys(child, visits, `${path}/${key}`) : [`${path}/${key}`],
  );
}

/** Every schema violation and every unknown field of one object; empty when it is valid. */
export async function schemaProblems(object: KubernetesObject): Promise<SchemaProblem[]> {
  const Model = await modelClass(object.apiVersion, object.kind);
  const visits = new WeakMap<object, Visit>();
  const data = structuredClone(object);
  const problems: SchemaProblem[] = [];
  try {
    Model.prototype.validate.call(recordReads(data, visits));
  } catch (error) {
    const details = (error as { errors?: { instancePath: string; message?: string }[] }).errors;
    if (!details) throw error;
    problems.push(...details.map((detail) => ({ path: detail.instancePath || '/', message: detail.message ?? '' })));
  }
  problems.push(...unreadKeys(data, visits, '').map((path) => ({ path, message: 'unknown field' })));
  return problems;
}
