import { describe, expect, it } from '@jest/globals';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import type { IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import type { IIngress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IService } from 'kubernetes-models/v1/Service';
import { loadSettings } from '../../src/config/settings.js';
import { imageDeclarations } from './support/dockerfile.js';
import { containerEnvironment, named, ofKind, render, selects, type KubernetesObject } from './support/manifests.js';

const QUANTITY_SUFFIXES: Record<string, number> = { m: 1e-3, '': 1, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30 };

/** A Kubernetes quantity (`500m`, `2`, `256Mi`, `1Gi`) as a number of cores or bytes. */
function quantity(text: string): number {
  const [, amount, suffix] = /^(\d+(?:\.\d+)?)(m|Ki|Mi|Gi)?$/.exec(text) ?? [];
  if (amount === undefined) throw new Error(`unexpected quantity ${text}`);
  return Number(amount) * QUANTITY_SUFFIXES[suffix ?? ''];
}

function apiParts(overlay: string) {
  const objects = render(`overlays/${overlay}`);
  const deployment = named<IDeployment>(objects, 'Deployment', 'sentiment-api');
  const container = deployment.spec!.template.spec!.containers.find((candidate) => candidate.name === 'api')!;
  return { objects, deployment, container };
}

describe('minikube overlay: one local pod, reachable from the host', () => {
  const { objects, deployment, container } = apiParts('minikube');

  it('runs one replica, with no autoscaler to change that', () => {
    expect(deployment.spec?.replicas).toBe(1);
    expect(ofKind(objects, 'HorizontalPodAutoscaler')).toEqual([]);
  });

  it('serves without API keys on purpose (a local cluster), which production would otherwise refuse', () => {
    const environment = containerEnvironment(objects, container, imageDeclarations().env);
    expect(environment.values.ALLOW_ANONYMOUS).toBe('true');
  });

  it('uses the image built inside Minikube, never pulling it', () => {
    expect(container.imagePullPolicy).toBe('Never');
    expect(container.image).toBe('sentiment-api:dev');
  });

  it('exposes the API on a NodePort', () => {
    const service = named<IService>(objects, 'Service', 'sentiment-api');
    expect(service.spec?.type).toBe('NodePort');
    expect(service.spec?.ports?.[0].nodePort).toBeGreaterThanOrEqual(30000);
  });

  it('fits a `minikube start --cpus 4 --memory 6g` node next to the system pods (≈ 1 CPU, 2 GiB)', () => {
    const workloads = [...ofKind<IDeployment>(objects, 'Deployment'), ...ofKind<IStatefulSet>(objects, 'StatefulSet')];
    expect(workloads.map((workload) => workload.metadata.name)).toContain('sentiment-jobs-redis');
    const resources = workloads.flatMap((workload) =>
      workload.spec!.template.spec!.containers.map((candidate) => candidate.resources ?? {}),
    );
    type Quantities = Record<string, string | number> | undefined;
    const total = (pick: (resources: Record<string, Quantities>) => string | number | undefined) =>
      resources.reduce((sum, entry) => sum + quantity(String(pick(entry as Record<string, Quantities>) ?? 0)), 0);
    expect(total((entry) => entry.requests?.cpu)).toBeLessThanOrEqual(3);
    expect(total((entry) => entry.limits?.memory)).toBeLessThanOrEqual(4 * 2 ** 30);
  });
});

// The managed-Redis variant is the aks overlay plus a component: everything of production on Azure
// holds for both.
describe.each(['aks', 'aks-managed-redis'])('%s overlay: production on Azure', (overlay) => {
  const { objects, deployment, container } = apiParts(overlay);
  const environment = containerEnvironment(objects, container, imageDeclarations().env);

  it('pulls the image from Azure Container Registry', () => {
    expect(container.image).toMatch(/^[a-z0-9]+\.azurecr\.io\/sentiment-api:[\w.-]+$/);
  });

  it('autoscales between 2 and 20 pods', () => {
    const autoscaler = named<IHorizontalPodAutoscaler>(objects, 'HorizontalPodAutoscaler', 'sentiment-api');
    expect([autoscaler.spec?.minReplicas, autoscaler.spec?.maxReplicas]).toEqual([2, 20]);
  });

  it('serves HTTPS through an Ingress whose TLS covers every host it routes to the API Service', () => {
    const [ingress] = ofKind<IIngress>(objects, 'Ingress');
    expect(ingress.spec?.ingressClassName).toBeTruthy();
    const tlsHosts = (ingress.spec?.tls ?? []).flatMap((tls) => (tls.secretName ? (tls.hosts ?? []) : []));
    const rules = ingress.spec?.rules ?? [];
    expect(rules.length).toBeGreaterThan(0);
    for (const rule of rules) {
      expect(tlsHosts).toContain(rule.host);
      for (const path of rule.http?.paths ?? []) {
        const backend = path.backend.service!;
        const service = named<IService>(objects, 'Service', backend.name);
        expect(service.spec?.ports?.map((port) => port.name)).toContain(backend.port?.name);
      }
    }
  });

  it('makes only the API public: no probe, /metrics or docs route on the Ingress', () => {
    const [ingress] = ofKind<IIngress>(objects, 'Ingress');
    const paths = (ingress.spec?.rules ?? []).flatMap((rule) => rule.http?.paths ?? []);
    expect(paths.map((path) => [path.path, path.pathType])).toEqual([['/v1', 'Prefix']]);
  });

  it('asks Prometheus to scrape /metrics on the API port', () => {
    const annotations = deployment.spec?.template.metadata?.annotations ?? {};
    expect(annotations['prometheus.io/scrape']).toBe('true');
    expect(annotations['prometheus.io/path']).toBe('/metrics');
    expect(Number(annotations['prometheus.io/port'])).toBe(Number(environment.values.PORT));
  });

  it('mounts the API keys from the operator’s Secret and points API_KEYS_FILE into it', () => {
    const volumes = deployment.spec!.template.spec!.volumes ?? [];
    const keysVolume = volumes.find((volume) => volume.secret?.secretName === 'sentiment-api-keys');
    const mount = container.volumeMounts?.find((candidate) => candidate.name === keysVolume?.name);
    expect(mount?.readOnly).toBe(true);
    expect(environment.values.API_KEYS_FILE).toBe(`${mount?.mountPath}/keys`);
    expect(environment.values.API_KEYS).toBeUndefined();
    expect(environment.values.ALLOW_ANONYMOUS).toBeUndefined();
  });

  it('sets a request deadline and trusts X-Forwarded-For only from an address range', () => {
    expect(environment.values.REQUEST_TIMEOUT_MS).toBe('30000');
    const settings = loadSettings({ TRUST_PROXY: environment.values.TRUST_PROXY });
    expect(Array.isArray(settings.trustProxy)).toBe(true);
    expect(settings.trustProxy).not.toContain('0.0.0.0/0');
  });

  it('admits traffic to the API pods only from the ingress controller’s namespace and Prometheus, on the API port', () => {
    const policies = ofKind<INetworkPolicy>(objects, 'NetworkPolicy').filter((policy) =>
      selects(policy.spec?.podSelector?.matchLabels, deployment.spec!.template.metadata!.labels),
    );
    expect(policies).toHaveLength(1);
    const spec = policies[0].spec!;
    expect(spec.policyTypes).toContain('Ingress');
    const peers = (spec.ingress ?? []).flatMap((rule) => rule.from ?? []);
    expect(peers.length).toBeGreaterThan(0);
    // Every peer names a namespace (no ipBlock, no empty selector admitting everything).
    for (const peer of peers) {
      expect(peer.ipBlock).toBeUndefined();
      expect(peer.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name']).toBeTruthy();
    }
    const namespaces = peers.map((peer) => peer.namespaceSelector!.matchLabels!['kubernetes.io/metadata.name']);
    const [ingress] = ofKind<IIngress>(objects, 'Ingress');
    expect(ingress.spec?.ingressClassName).toBe('webapprouting.kubernetes.azure.com');
    expect(namespaces).toContain('app-routing-system');
    // The scrapers are narrowed to their pods, not their whole namespace.
    for (const peer of peers.filter(
      (candidate) => candidate.namespaceSelector!.matchLabels!['kubernetes.io/metadata.name'] !== 'app-routing-system',
    ))
      expect(peer.podSelector?.matchLabels).toBeDefined();
    const ports = (spec.ingress ?? []).flatMap((rule) => rule.ports ?? []).map((port) => port.port);
    expect(ports).toEqual([container.ports?.find((port) => port.name === 'http')?.containerPort]);
  });
});

describe('aks overlay: the in-cluster Redis by default', () => {
  const { objects, deployment, container } = apiParts('aks');

  it('takes REDIS_URL from the operator’s Secret, so Azure Cache for Redis can replace the in-cluster Redis', () => {
    expect(container.env?.find((variable) => variable.name === 'REDIS_URL')?.valueFrom?.secretKeyRef).toEqual({
      name: 'sentiment-api-redis',
      key: 'url',
    });
    expect(ofKind(objects, 'Secret').map((secret) => secret.metadata.name)).not.toContain('sentiment-api-redis');
  });

  it('keeps jobs in the in-cluster durable Redis whatever serves the cache: JOBS_REDIS_URL from a Secret of its own', () => {
    expect(container.env?.find((variable) => variable.name === 'JOBS_REDIS_URL')?.valueFrom?.secretKeyRef).toEqual({
      name: 'sentiment-api-jobs-redis',
      key: 'url',
    });
    const jobsRedis = named<IStatefulSet>(objects, 'StatefulSet', 'sentiment-jobs-redis');
    // Its volume: an Azure Disk from the cluster's StorageClass on AKS.
    expect(jobsRedis.spec?.volumeClaimTemplates?.map((claim) => claim.metadata?.name)).toEqual(['data']);
    expect(ofKind(objects, 'Secret').map((secret) => secret.metadata.name)).not.toContain('sentiment-api-jobs-redis');
  });

  it('leaves the API pods’ egress unrestricted: its NetworkPolicy governs ingress only', () => {
    const policies = ofKind<INetworkPolicy>(objects, 'NetworkPolicy').filter((policy) =>
      selects(policy.spec?.podSelector?.matchLabels, deployment.spec!.template.metadata!.labels),
    );
    expect(policies.map((policy) => policy.spec?.policyTypes)).toEqual([['Ingress']]);
  });
});

/** The content hash kustomize appends to a generated ConfigMap's name. */
const HASH_SUFFIX = /-[a-z0-9]{10}$/;

describe('aks-managed-redis overlay: the aks overlay with managed Redis', () => {
  const aks = render('overlays/aks');
  const managed = render('overlays/aks-managed-redis');
  /** Kind and name; the ConfigMap's without its content hash. */
  const id = (object: KubernetesObject) =>
    `${object.kind}/${object.kind === 'ConfigMap' ? object.metadata.name.replace(HASH_SUFFIX, '') : object.metadata.name}`;
  const isRedis = (object: KubernetesObject) => /redis/.test(object.metadata.name);

  it('has every object of the aks overlay but the in-cluster Redis, and nothing more', () => {
    expect(managed.map(id).sort()).toEqual(
      aks
        .filter((object) => !isRedis(object))
        .map(id)
        .sort(),
    );
  });

  it('changes only the API Deployment, its settings and its NetworkPolicy; everything else renders the same', () => {
    const changed = ['Deployment/sentiment-api', 'ConfigMap/sentiment-api-config', 'NetworkPolicy/sentiment-api'];
    for (const object of aks.filter((candidate) => !isRedis(candidate) && !changed.includes(id(candidate))))
      expect(managed.find((candidate) => id(candidate) === id(object))).toEqual(object);
  });

  it('keeps every setting of the aks overlay but the Redis ones, and adds only Redis ones', () => {
    const data = (objects: KubernetesObject[]) =>
      ofKind<IConfigMap>(objects, 'ConfigMap').find((map) => id(map) === 'ConfigMap/sentiment-api-config')!.data ?? {};
    const [before, after] = [data(aks), data(managed)];
    const added = Object.keys(after).filter((name) => before[name] !== after[name]);
    expect(added.filter((name) => !/^(JOBS_)?REDIS_/.test(name))).toEqual([]);
    expect(Object.keys(before).filter((name) => !(name in after))).toEqual([]);
  });

  it('changes the API pod only by its Redis settings and the mounted Secret with their passwords', () => {
    const pod = (objects: KubernetesObject[]) => {
      const template = structuredClone(named<IDeployment>(objects, 'Deployment', 'sentiment-api').spec!.template);
      const api = template.spec!.containers.find((candidate) => candidate.name === 'api')!;
      api.env = api.env?.filter((variable) => !/^(JOBS_)?REDIS_/.test(variable.name));
      for (const source of api.envFrom ?? [])
        if (source.configMapRef?.name) source.configMapRef.name = source.configMapRef.name.replace(HASH_SUFFIX, '');
      api.volumeMounts = api.volumeMounts?.filter((mount) => mount.name !== 'managed-redis');
      template.spec!.volumes = template.spec!.volumes?.filter((volume) => volume.name !== 'managed-redis');
      return template;
    };
    expect(pod(managed)).toEqual(pod(aks));
  });
});
