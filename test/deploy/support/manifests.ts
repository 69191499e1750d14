import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import type { ISecret } from 'kubernetes-models/v1/Secret';
import { parseAllDocuments } from 'yaml';

export const K8S_DIR = join(process.cwd(), 'deploy', 'k8s');
export const OVERLAYS = ['minikube', 'aks', 'aks-managed-redis'] as const;
export type Overlay = (typeof OVERLAYS)[number];
/** Overlays running the cache and jobs Redis in the cluster (the base's). */
export const IN_CLUSTER_REDIS_OVERLAYS = ['minikube', 'aks'] as const satisfies readonly Overlay[];
/** Overlays pointing the API at managed Redis instead (deploy/k8s/components/managed-redis). */
export const MANAGED_REDIS_OVERLAYS = ['aks-managed-redis'] as const satisfies readonly Overlay[];

export interface KubernetesObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
}

/** The objects `kubectl kustomize` renders for a kustomization folder (relative to deploy/k8s). */
export function render(folder: string): KubernetesObject[] {
  const text = execFileSync('kubectl', ['kustomize', join(K8S_DIR, folder)], { encoding: 'utf8' });
  return parseAllDocuments(text).map((document) => {
    if (document.errors.length > 0) throw new Error(`${folder}: ${document.errors[0].message}`);
    return document.toJS() as KubernetesObject;
  });
}

export function ofKind<T>(objects: KubernetesObject[], kind: string): (T & KubernetesObject)[] {
  return objects.filter((object) => object.kind === kind) as (T & KubernetesObject)[];
}

export function named<T>(objects: KubernetesObject[], kind: string, name: string): T & KubernetesObject {
  const found = ofKind<T>(objects, kind).find((object) => object.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in the rendered objects`);
  return found;
}

/** True when every label the selector asks for is on `labels` with the same value. */
export function selects(
  selector: Record<string, string> | undefined,
  labels: Record<string, string> | undefined,
): boolean {
  const wanted = Object.entries(selector ?? {});
  return wanted.length > 0 && wanted.every(([key, value]) => labels?.[key] === value);
}

/** A reference from a container's environment to a key of an object the render does not contain. */
export interface ExternalReference {
  kind: 'ConfigMap' | 'Secret';
  name: string;
  key?: string;
  variable?: string;
}

export interface ContainerEnvironment {
  /** Variable → value, as the process would see it (image ENV, then envFrom, then env). */
  values: Record<string, string>;
  /** Variables whose value comes from an object the operator provides (not in the render). */
  external: ExternalReference[];
}

function secretValues(secret: ISecret): Record<string, string> {
  const decoded = Object.entries(secret.data ?? {}).map(([key, value]) => [
    key,
    Buffer.from(value, 'base64').toString(),
  ]);
  return { ...Object.fromEntries(decoded), ...secret.stringData };
}

function lookup(
  objects: KubernetesObject[],
  kind: 'ConfigMap' | 'Secret',
  name: string,
): Record<string, string> | undefined {
  const found = objects.find((object) => object.kind === kind && object.metadata.name === name);
  if (!found) return undefined;
  return kind === 'Secret' ? secretValues(found as ISecret & KubernetesObject) : ((found as IConfigMap).data ?? {});
}

/** The environment a container of the rendered objects starts with, on top of the image's. */
export function containerEnvironment(
  objects: KubernetesObject[],
  container: IContainer,
  imageEnvironment: Record<string, string>,
): ContainerEnvironment {
  const values = { ...imageEnvironment };
  const external: ExternalReference[] = [];
  for (const source of container.envFrom ?? []) {
    const ref = source.configMapRef
      ? { kind: 'ConfigMap' as const, name: source.configMapRef.name ?? '' }
      : { kind: 'Secret' as const, name: source.secretRef?.name ?? '' };
    const data = lookup(objects, ref.kind, ref.name);
    if (data)
      Object.assign(
        values,
        Object.fromEntries(Object.entries(data).map(([key, value]) => [`${source.prefix ?? ''}${key}`, value])),
      );
    else external.push({ kind: ref.kind, name: ref.name });
  }
  for (const variable of container.env ?? []) {
    if (variable.value !== undefined) {
      values[variable.name] = variable.value;
      continue;
    }
    const from = variable.valueFrom;
    const keyRef = from?.configMapKeyRef ?? from?.secretKeyRef;
    const ref = keyRef && {
      kind: from?.configMapKeyRef ? ('ConfigMap' as const) : ('Secret' as const),
      name: keyRef.name ?? '',
      key: keyRef.key,
    };
    if (!ref) continue;
    const value = lookup(objects, ref.kind, ref.name)?.[ref.key];
    if (value !== undefined) values[variable.name] = value;
    else external.push({ kind: ref.kind, name: ref.name, key: ref.key, variable: variable.name });
  }
  return { values, external };
}

export function podContainers(pod: IPodSpec): IContainer[] {
  return [...(pod.initContainers ?? []), ...pod.containers];
}
