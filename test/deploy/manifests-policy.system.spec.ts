import { describe, expect, it } from '@jest/globals';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IProbe } from 'kubernetes-models/v1/Probe';
import type { IService } from 'kubernetes-models/v1/Service';
import { loadSettings } from '../../src/config/settings.js';
import { imageDeclarations } from './support/dockerfile.js';
import {
  containerEnvironment,
  named,
  ofKind,
  OVERLAYS,
  podContainers,
  render,
  selects,
  type KubernetesObject,
} from './support/manifests.js';
import { settingsVariables } from './support/settings-variables.js';
import { TEST_OUTPUT_DIR } from '../support/paths.js';

/** The deployment guide: the Secrets it tells the operator to create. */
const DEPLOY_GUIDE = readFileSync(join(process.cwd(), 'docs', 'DEPLOY.md'), 'utf8');
const IMAGE = imageDeclarations();
/** Room after the drain for requests still in flight to finish before the kubelet's SIGKILL. */
const IN_FLIGHT_ALLOWANCE_MS = 5000;

type Workload = IDeployment & KubernetesObject;

/** A value valid both as an API key and as a cache key secret. */
const STAND_IN_SECRET = 'stand-in-secret-0123456789abcdef';

/** Where the container mounts each Secret volume. */
function secretMounts(deployment: Workload, container: IContainer): { path: string; secretName: string }[] {
  const volumes = deployment.spec!.template.spec!.volumes ?? [];
  return (container.volumeMounts ?? []).flatMap((mount) => {
    const secretName = volumes.find((volume) => volume.name === mount.name)?.secret?.secretName;
    return secretName ? [{ path: mount.mountPath, secretName }] : [];
  });
}

/** The REDIS_URL docs/DEPLOY.md's `kubectl create secret generic sentiment-api-redis` line writes, variables stood in for. */
function deployGuideRedisUrl(): string | undefined {
  const url = /create secret generic sentiment-api-redis .*--from-literal=url="?([^"\s]+)"?/.exec(DEPLOY_GUIDE)?.[1];
  return url?.replace(/\$\w+/g, 'stand-in');
}

/**
 * The environment the pod would see: files in mounted Secrets hold a stand-in secret, and a
 * REDIS_URL from the operator's Secret is what docs/DEPLOY.md tells the operator to put there.
 */
function withSecretStandIns(
  overlay: string,
  environment: ReturnType<typeof containerEnvironment>,
  mounts: { path: string }[],
): Record<string, string> {
  const values = { ...environment.values };
  const dir = join(TEST_OUTPUT_DIR, 'manifest-secrets', overlay);
  mkdirSync(dir, { recursive: true });
  for (const [name, value] of Object.entries(values)) {
    if (!mounts.some((mount) => value.startsWith(`${mount.path}/`))) continue;
    values[name] = join(dir, name);
    writeFileSync(values[name], `${STAND_IN_SECRET}\n`);
  }
  const redisUrl = deployGuideRedisUrl();
  if (environment.external.some((ref) => ref.variable === 'REDIS_URL') && redisUrl) values.REDIS_URL = redisUrl;
  return values;
}

function containers(deployment: Workload): IContainer[] {
  return podContainers(deployment.spec!.template.spec!);
}

function containerPort(container: IContainer, port: number | string | undefined): number | undefined {
  if (typeof port === 'number')
    return container.ports?.some((entry) => entry.containerPort === port) ? port : undefined;
  return container.ports?.find((entry) => entry.name === port)?.containerPort;
}

function probes(container: IContainer): IProbe[] {
  return [container.startupProbe, container.readinessProbe, container.livenessProbe].filter(
    (probe) => probe !== undefined,
  );
}

describe.each(OVERLAYS)('%s overlay: policies over the rendered objects', (overlay) => {
  const objects = render(`overlays/${overlay}`);
  const deployments = ofKind<IDeployment>(objects, 'Deployment');
  const api = named<IDeployment>(objects, 'Deployment', 'sentiment-api');
  const apiPod = api.spec!.template.spec!;
  const apiContainer = apiPod.containers.find((container) => container.name === 'api')!;
  const apiLabels = api.spec!.template.metadata!.labels;
  const apiEnvironment = containerEnvironment(objects, apiContainer, IMAGE.env);
  // Loaded in each test, so a value the config module rejects fails the tests that use it, not the suite.
  const apiMounts = secretMounts(api, apiContainer);
  const apiSettings = () => loadSettings(withSecretStandIns(overlay, apiEnvironment, apiMounts));

  it('has the API, Redis and the objects around them', () => {
    expect(deployments.map((deployment) => deployment.metadata.name).sort()).toEqual([
      'sentiment-api',
      'sentiment-redis',
    ]);
    expect(apiContainer).toBeDefined();
    for (const kind of ['Service', 'ConfigMap', 'PodDisruptionBudget', 'NetworkPolicy', 'Namespace']) {
      expect(ofKind(objects, kind).length).toBeGreaterThan(0);
    }
  });

  it('puts every namespaced object in the overlay namespace', () => {
    const [namespace] = ofKind(objects, 'Namespace');
    for (const object of objects.filter((candidate) => candidate.kind !== 'Namespace')) {
      expect(`${object.kind}/${object.metadata.name} in ${object.metadata.namespace}`).toBe(
        `${object.kind}/${object.metadata.name} in ${namespace.metadata.name}`,
      );
    }
  });

  it('gives every container CPU and memory requests and limits', () => {
    for (const container of deployments.flatMap(containers)) {
      const { requests, limits } = container.resources ?? {};
      expect({ container: container.name, requests: Object.keys(requests ?? {}).sort() }).toEqual({
        container: container.name,
        requests: ['cpu', 'memory'],
      });
      expect({ container: container.name, limits: Object.keys(limits ?? {}).sort() }).toEqual({
        container: container.name,
        limits: ['cpu', 'memory'],
      });
    }
  });

  it('gives every container a startup, a readiness and a liveness probe', () => {
    for (const container of deployments.flatMap(containers)) {
      expect({ container: container.name, probes: probes(container).length }).toEqual({
        container: container.name,
        probes: 3,
      });
    }
  });

  it('probes the API on /health/ready (startup, readiness) and /health/live (liveness), on the port the app listens on', () => {
    expect(
      [apiContainer.startupProbe, apiContainer.readinessProbe, apiContainer.livenessProbe].map(
        (probe) => probe?.httpGet?.path,
      ),
    ).toEqual(['/health/ready', '/health/ready', '/health/live']);
    for (const probe of probes(apiContainer)) {
      expect(containerPort(apiContainer, probe.httpGet?.port)).toBe(apiSettings().port);
    }
    expect(IMAGE.exposedPorts).toContain(apiSettings().port);
  });

  it('checks Redis by its own protocol and port', () => {
    const redis = containers(named<IDeployment>(objects, 'Deployment', 'sentiment-redis'))[0];
    for (const probe of probes(redis)) {
      const byCommand = probe.exec?.command?.join(' ') === 'redis-cli ping';
      const byPort = containerPort(redis, probe.tcpSocket?.port) === 6379;
      expect({ probe, ok: byCommand || byPort }).toEqual({ probe, ok: true });
    }
  });

  it('runs every container as non-root, read-only, without privilege escalation or capabilities', () => {
    for (const deployment of deployments) {
      const pod = deployment.spec!.template.spec!;
      for (const container of containers(deployment)) {
        const context = { ...pod.securityContext, ...container.securityContext };
        expect({ container: container.name, ...context }).toMatchObject({
          container: container.name,
          runAsNonRoot: true,
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
          capabilities: { drop: ['ALL'] },
          seccompProfile: { type: 'RuntimeDefault' },
        });
        expect(context.runAsUser).toBeGreaterThan(0);
      }
    }
  });

  it('runs the API as the image’s user and gives it a writable /tmp', () => {
    expect(apiPod.securityContext?.runAsUser).toBe(Number(IMAGE.user?.split(':')[0]));
    const tmp = apiContainer.volumeMounts?.find((mount) => mount.mountPath === '/tmp');
    expect(apiPod.volumes?.find((volume) => volume.name === tmp?.name)?.emptyDir).toBeDefined();
  });

  it('pins every image to a tag or digest, never latest', () => {
    for (const container of deployments.flatMap(containers)) {
      const image = container.image ?? '';
      const tag = image.includes('@') ? image.split('@')[1] : image.split('/').pop()?.split(':')[1];
      expect({ image, tag }).toEqual({ image, tag: expect.not.stringMatching(/^(latest)?$/) });
    }
  });

  it('sets each environment variable once, from exactly one source', () => {
    for (const container of deployments.flatMap(containers)) {
      const names = (container.env ?? []).map((variable) => variable.name);
      expect(new Set(names).size).toBe(names.length);
      for (const variable of container.env ?? []) {
        expect([variable.value !== undefined, variable.valueFrom !== undefined].filter(Boolean)).toHaveLength(1);
      }
    }
  });

  it('sets only environment variables the config module reads, with values it accepts', () => {
    const known = settingsVariables(withSecretStandIns(overlay, apiEnvironment, apiMounts));
    const set = [
      ...Object.keys(apiEnvironment.values),
      ...apiEnvironment.external.flatMap((ref) => ref.variable ?? []),
    ];
    // PATH comes from the base image; everything else the image or the manifests set is a setting.
    expect(set.filter((name) => name !== 'PATH' && !known.has(name))).toEqual([]);
    expect(() => apiSettings()).not.toThrow();
  });

  it('reads secrets from files in mounted Secrets, never from values in the manifests', () => {
    for (const name of ['API_KEYS', 'CACHE_KEY_SECRET', 'METRICS_API_KEY', 'REDIS_URL'])
      expect(apiEnvironment.values[name]).toBeUndefined();
    const secretFile = apiEnvironment.values.CACHE_KEY_SECRET_FILE;
    expect(apiMounts.some((mount) => secretFile?.startsWith(`${mount.path}/`))).toBe(true);
    expect(apiSettings().cacheKeySecret).toBe(STAND_IN_SECRET);
  });

  it('mounts only Secrets it renders, or that docs/DEPLOY.md tells the operator to create', () => {
    const rendered = ofKind(objects, 'Secret').map((secret) => secret.metadata.name);
    for (const deployment of deployments)
      for (const volume of deployment.spec!.template.spec!.volumes ?? []) {
        const name = volume.secret?.secretName;
        if (name && !rendered.includes(name)) expect(DEPLOY_GUIDE).toContain(`kubectl create secret generic ${name}`);
      }
  });

  it('runs Redis with an ACL file from a Secret and a patched 7.4 image pinned by digest', () => {
    const redis = named<Workload>(objects, 'Deployment', 'sentiment-redis');
    const [container] = containers(redis);
    const [, patch] = /:7\.4\.(\d+)@sha256:[0-9a-f]{64}$/.exec(container.image ?? '') ?? [];
    expect(Number(patch)).toBeGreaterThanOrEqual(6);
    const args = container.args ?? [];
    const aclFile = args[args.indexOf('--aclfile') + 1];
    expect(secretMounts(redis, container).some((mount) => aclFile?.startsWith(`${mount.path}/`))).toBe(true);
    // The ACL of docs/DEPLOY.md: no anonymous access beyond PING, the API's own user with a password.
    expect(DEPLOY_GUIDE).toMatch(/user default on nopass -@all \+ping/);
    expect(DEPLOY_GUIDE).toMatch(/user sentiment-api on >/);
  });

  it('sets what production needs: production mode, no silent baseline fallback, a shared cache', () => {
    expect(apiSettings().nodeEnv).toBe('production');
    expect(apiSettings().modelFallback).toBe('none');
    expect(apiSettings().allowRemoteModels).toBe(false);
    const redisFromOperator = apiEnvironment.external.some((ref) => ref.variable === 'REDIS_URL');
    expect(redisFromOperator || apiSettings().redisUrl !== undefined).toBe(true);
  });

  it('refers only to ConfigMaps and Secrets it renders, or that docs/DEPLOY.md tells the operator to create', () => {
    for (const ref of apiEnvironment.external) {
      expect(ref.kind).toBe('Secret');
      expect(DEPLOY_GUIDE).toContain(`kubectl create secret generic ${ref.name}`);
    }
  });

  it('waits longer than the shutdown drain before killing a pod', () => {
    const graceMs = (apiPod.terminationGracePeriodSeconds ?? 30) * 1000;
    expect(graceMs).toBeGreaterThanOrEqual(apiSettings().shutdownDrainMs + IN_FLIGHT_ALLOWANCE_MS);
  });

  it('selects pods with every Service, on ports the pods expose', () => {
    for (const service of ofKind<IService>(objects, 'Service')) {
      const targets = deployments.filter((deployment) =>
        selects(service.spec?.selector, deployment.spec!.template.metadata!.labels),
      );
      expect({ service: service.metadata.name, targets: targets.length }).toEqual({
        service: service.metadata.name,
        targets: 1,
      });
      for (const port of service.spec?.ports ?? []) {
        const ports = containers(targets[0]).map((container) => containerPort(container, port.targetPort ?? port.port));
        expect(ports.some((found) => found !== undefined)).toBe(true);
      }
    }
  });

  it('matches each Deployment’s own selector to its pod labels, and only its own', () => {
    for (const deployment of deployments) {
      const matching = deployments.filter((other) =>
        selects(deployment.spec!.selector.matchLabels, other.spec!.template.metadata!.labels),
      );
      expect(matching.map((other) => other.metadata.name)).toEqual([deployment.metadata.name]);
    }
  });

  it('spreads API pods across nodes with constraints that select them', () => {
    const constraints = apiPod.topologySpreadConstraints ?? [];
    expect(constraints.map((constraint) => constraint.topologyKey)).toContain('kubernetes.io/hostname');
    for (const constraint of constraints) expect(selects(constraint.labelSelector?.matchLabels, apiLabels)).toBe(true);
  });

  it('protects the API pods, and only them, with a PodDisruptionBudget that lets one go at a time', () => {
    const budgets = ofKind<IPodDisruptionBudget>(objects, 'PodDisruptionBudget');
    expect(budgets).toHaveLength(1);
    const covered = deployments.filter((deployment) =>
      selects(budgets[0].spec?.selector?.matchLabels, deployment.spec!.template.metadata!.labels),
    );
    expect(covered.map((deployment) => deployment.metadata.name)).toEqual(['sentiment-api']);
    expect(budgets[0].spec?.maxUnavailable).toBe(1);
  });

  it('scales the API Deployment, if at all, on CPU with requests set, and scales down slowly', () => {
    for (const autoscaler of ofKind<IHorizontalPodAutoscaler>(objects, 'HorizontalPodAutoscaler')) {
      expect(autoscaler.spec?.scaleTargetRef).toEqual({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        name: 'sentiment-api',
      });
      expect(autoscaler.spec!.minReplicas!).toBeLessThanOrEqual(autoscaler.spec!.maxReplicas);
      const cpu = autoscaler.spec?.metrics?.find((metric) => metric.resource?.name === 'cpu');
      expect(cpu?.resource?.target.type).toBe('Utilization');
      expect(apiContainer.resources?.requests?.cpu).toBeDefined();
      expect(autoscaler.spec?.behavior?.scaleDown?.stabilizationWindowSeconds).toBeGreaterThanOrEqual(120);
      // The HPA owns the count: a replicas field would reset it on every apply.
      expect(api.spec?.replicas).toBeUndefined();
    }
  });

  it('lets only the API pods reach Redis, on the port Redis listens on', () => {
    const redis = named<IDeployment>(objects, 'Deployment', 'sentiment-redis');
    const redisLabels = redis.spec!.template.metadata!.labels;
    const policies = ofKind<INetworkPolicy>(objects, 'NetworkPolicy').filter((policy) =>
      selects(policy.spec?.podSelector?.matchLabels, redisLabels),
    );
    expect(policies).toHaveLength(1);
    const spec = policies[0].spec!;
    expect(spec.policyTypes).toContain('Ingress');
    const peers = (spec.ingress ?? []).flatMap((rule) => rule.from ?? []);
    expect(peers.length).toBeGreaterThan(0);
    for (const peer of peers) {
      expect(Object.keys(peer)).toEqual(['podSelector']);
      expect(
        deployments
          .filter((deployment) => selects(peer.podSelector?.matchLabels, deployment.spec!.template.metadata!.labels))
          .map((d) => d.metadata.name),
      ).toEqual(['sentiment-api']);
    }
    const ports = (spec.ingress ?? [])
      .flatMap((rule) => rule.ports ?? [])
      .map((port) => containerPort(containers(redis)[0], port.port));
    expect(ports).toEqual([6379]);
  });

  it('points the in-cluster cache URL at the Redis Service', () => {
    const url = apiSettings().redisUrl;
    if (url === undefined) {
      expect(apiEnvironment.external.map((ref) => ref.variable)).toContain('REDIS_URL');
      return;
    }
    const { hostname, port } = new URL(url);
    const service = named<IService>(objects, 'Service', hostname);
    expect(service.spec?.ports?.map((entry) => entry.port)).toContain(Number(port));
  });
});
