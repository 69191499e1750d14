import { describe, expect, it } from '@jest/globals';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import type { IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import type { INetworkPolicyPort } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicyPort';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IProbe } from 'kubernetes-models/v1/Probe';
import type { IService } from 'kubernetes-models/v1/Service';
import { createClient } from 'redis';
import { loadSettings } from '../../src/config/settings.js';
import { CLOSING_ALLOWANCE_MS } from '../../src/health/graceful-shutdown.js';
import { DEPLOY_GUIDE, deployGuideAcl, deployGuideSecretCommand, deployGuideUrl } from './support/deploy-guide.js';
import { imageDeclarations } from './support/dockerfile.js';
import {
  containerEnvironment,
  IN_CLUSTER_REDIS_OVERLAYS,
  MANAGED_REDIS_OVERLAYS,
  named,
  ofKind,
  OVERLAYS,
  type Overlay,
  podContainers,
  render,
  selects,
  type KubernetesObject,
} from './support/manifests.js';
import { settingsVariables } from './support/settings-variables.js';
import { redisArg, redisMemoryBytes, shippedRedisArgs } from './support/shipped-redis.js';
import { TEST_OUTPUT_DIR } from '../support/paths.js';
import { startRedisServer } from '../support/redis-server.js';

const IMAGE = imageDeclarations();

/** The pods' owners: Deployments and StatefulSets (the jobs Redis). */
type Workload = (IDeployment | IStatefulSet) & KubernetesObject;

/** Files in deploy/k8s/base holding the two Redis: the cache's and the jobs'. */
const CACHE_REDIS_FILE = 'redis-deployment.yaml';
const JOBS_REDIS_FILE = 'jobs-redis-statefulset.yaml';

const QUANTITY_BYTES: Record<string, number> = { '': 1, k: 1e3, M: 1e6, G: 1e9, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30 };

/** A Kubernetes memory or storage quantity (`256Mi`, `1Gi`, `500M`) in bytes. */
function quantityBytes(text: string | number | undefined): number {
  const [, amount, suffix] = /^(\d+(?:\.\d+)?)(k|M|G|Ki|Mi|Gi)?$/.exec(String(text)) ?? [];
  if (amount === undefined) throw new Error(`unexpected quantity ${text}`);
  return Number(amount) * QUANTITY_BYTES[suffix ?? ''];
}

/** Redis arguments without the flags naming paths in the pod, as shippedRedisArgs returns them. */
function withoutPodPaths(args: string[]): string[] {
  const podPath = (flag: string | undefined) => flag === '--aclfile' || flag === '--dir';
  return args.filter((arg, i) => !podPath(arg) && !podPath(args[i - 1]));
}

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

/** Redis URLs: from the operator's Secrets (in-cluster Redis), or the managed instances' in the ConfigMap. */
const REDIS_URL_VARIABLES = ['REDIS_URL', 'JOBS_REDIS_URL'];

/** Settings naming a file that holds a secret: a cache key secret, API keys, a Redis password, a TLS key. */
const SECRET_FILE_VARIABLE = /(SECRET|PASSWORD|KEYS?)_FILE$/;

/**
 * The environment the pod would see: files in mounted Secrets hold a stand-in secret, and a
 * REDIS_URL or JOBS_REDIS_URL from the operator's Secret is what docs/DEPLOY.md tells the operator
 * to put there (its `kubectl create secret generic <that Secret>` line, variables stood in for).
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
  for (const ref of environment.external) {
    const url = ref.kind === 'Secret' && ref.key === 'url' ? deployGuideUrl(ref.name) : undefined;
    if (ref.variable && REDIS_URL_VARIABLES.includes(ref.variable) && url) values[ref.variable] = url;
  }
  return values;
}

function containers(workload: Workload): IContainer[] {
  return podContainers(workload.spec!.template.spec!);
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

/** What the policies look at in an overlay's render: its workloads, and the API's pod, environment and settings. */
function overlayParts(overlay: Overlay) {
  const objects = render(`overlays/${overlay}`);
  const deployments = ofKind<IDeployment>(objects, 'Deployment');
  const statefulSets = ofKind<IStatefulSet>(objects, 'StatefulSet');
  const workloads: Workload[] = [...deployments, ...statefulSets];
  const api = named<IDeployment>(objects, 'Deployment', 'sentiment-api');
  const apiPod = api.spec!.template.spec!;
  const apiContainer = apiPod.containers.find((container) => container.name === 'api')!;
  const apiEnvironment = containerEnvironment(objects, apiContainer, IMAGE.env);
  const apiMounts = secretMounts(api, apiContainer);
  // Loaded in each test, so a value the config module rejects fails the tests that use it, not the suite.
  const apiSettings = () => loadSettings(withSecretStandIns(overlay, apiEnvironment, apiMounts));
  return {
    objects,
    deployments,
    statefulSets,
    workloads,
    api,
    apiPod,
    apiContainer,
    apiEnvironment,
    apiMounts,
    apiSettings,
  };
}

describe.each(OVERLAYS)('%s overlay: policies over the rendered objects', (overlay) => {
  const { objects, deployments, workloads, api, apiPod, apiContainer, apiEnvironment, apiMounts, apiSettings } =
    overlayParts(overlay);
  const apiLabels = api.spec!.template.metadata!.labels;

  it('has the API and the objects around it', () => {
    expect(deployments.map((deployment) => deployment.metadata.name)).toContain('sentiment-api');
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
    for (const container of workloads.flatMap(containers)) {
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
    for (const container of workloads.flatMap(containers)) {
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

  it('runs every container as non-root, read-only, without privilege escalation or capabilities', () => {
    for (const workload of workloads) {
      const pod = workload.spec!.template.spec!;
      for (const container of containers(workload)) {
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
    for (const container of workloads.flatMap(containers)) {
      const image = container.image ?? '';
      const tag = image.includes('@') ? image.split('@')[1] : image.split('/').pop()?.split(':')[1];
      expect({ image, tag }).toEqual({ image, tag: expect.not.stringMatching(/^(latest)?$/) });
    }
  });

  it('sets each environment variable once, from exactly one source', () => {
    for (const container of workloads.flatMap(containers)) {
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
    for (const name of ['API_KEYS', 'CACHE_KEY_SECRET', 'METRICS_API_KEY', 'REDIS_PASSWORD', 'JOBS_REDIS_PASSWORD'])
      expect(apiEnvironment.values[name]).toBeUndefined();
    // A Redis URL written in the manifests (managed Redis) names the host only; a password in it would be in git.
    for (const name of REDIS_URL_VARIABLES) {
      const url = apiEnvironment.values[name];
      if (url !== undefined) expect({ name, password: new URL(url).password }).toEqual({ name, password: '' });
    }
    const secretFiles = Object.entries(apiEnvironment.values).filter(([name]) => SECRET_FILE_VARIABLE.test(name));
    expect(secretFiles.map(([name]) => name)).toContain('CACHE_KEY_SECRET_FILE');
    for (const [name, file] of secretFiles)
      expect({ name, inSecret: apiMounts.some((mount) => file.startsWith(`${mount.path}/`)) }).toEqual({
        name,
        inSecret: true,
      });
    expect(apiSettings().cacheKeySecret).toBe(STAND_IN_SECRET);
  });

  it('mounts only Secrets it renders, or that docs/DEPLOY.md tells the operator to create', () => {
    const rendered = ofKind(objects, 'Secret').map((secret) => secret.metadata.name);
    for (const workload of workloads)
      for (const volume of workload.spec!.template.spec!.volumes ?? []) {
        const name = volume.secret?.secretName;
        if (name && !rendered.includes(name)) expect(DEPLOY_GUIDE).toContain(`kubectl create secret generic ${name}`);
      }
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

  it('waits longer than the shutdown can take (drain + in-flight allowance + closing) before killing a pod', () => {
    const graceMs = (apiPod.terminationGracePeriodSeconds ?? 30) * 1000;
    const { shutdownDrainMs, shutdownInFlightMs } = apiSettings();
    expect(graceMs).toBeGreaterThan(shutdownDrainMs + shutdownInFlightMs + CLOSING_ALLOWANCE_MS);
  });

  it('selects pods with every Service, on ports the pods expose', () => {
    for (const service of ofKind<IService>(objects, 'Service')) {
      const targets = workloads.filter((workload) =>
        selects(service.spec?.selector, workload.spec!.template.metadata!.labels),
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

  it('matches each Deployment’s and StatefulSet’s own selector to its pod labels, and only its own', () => {
    for (const workload of workloads) {
      const matching = workloads.filter((other) =>
        selects(workload.spec!.selector.matchLabels, other.spec!.template.metadata!.labels),
      );
      expect(matching.map((other) => other.metadata.name)).toEqual([workload.metadata.name]);
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
    const covered = workloads.filter((workload) =>
      selects(budgets[0].spec?.selector?.matchLabels, workload.spec!.template.metadata!.labels),
    );
    expect(covered.map((workload) => workload.metadata.name)).toEqual(['sentiment-api']);
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
});

describe.each(IN_CLUSTER_REDIS_OVERLAYS)('%s overlay: the in-cluster cache and jobs Redis', (overlay) => {
  const { objects, deployments, statefulSets, workloads, apiContainer, apiEnvironment, apiSettings } =
    overlayParts(overlay);
  const cacheRedis = named<IDeployment>(objects, 'Deployment', 'sentiment-redis');
  const jobsRedis = named<IStatefulSet>(objects, 'StatefulSet', 'sentiment-jobs-redis');
  const jobsRedisContainer = containers(jobsRedis).find((container) => container.name === 'redis')!;
  const jobsRedisArgs = jobsRedisContainer.args ?? [];

  it('has the API, Redis and the objects around them', () => {
    expect(deployments.map((deployment) => deployment.metadata.name).sort()).toEqual([
      'sentiment-api',
      'sentiment-redis',
    ]);
    expect(statefulSets.map((statefulSet) => statefulSet.metadata.name)).toEqual(['sentiment-jobs-redis']);
    expect(jobsRedisContainer).toBeDefined();
    expect(apiContainer).toBeDefined();
    for (const kind of ['Service', 'ConfigMap', 'PodDisruptionBudget', 'NetworkPolicy', 'Namespace']) {
      expect(ofKind(objects, kind).length).toBeGreaterThan(0);
    }
  });

  it('checks Redis by its own protocol and port', () => {
    const redis = containers(named<IDeployment>(objects, 'Deployment', 'sentiment-redis'))[0];
    for (const probe of probes(redis)) {
      const byCommand = probe.exec?.command?.join(' ') === 'redis-cli ping';
      const byPort = containerPort(redis, probe.tcpSocket?.port) === 6379;
      expect({ probe, ok: byCommand || byPort }).toEqual({ probe, ok: true });
    }
  });

  it('checks the jobs Redis by its own protocol and port, and keeps it unready while it replays its AOF', () => {
    for (const probe of probes(jobsRedisContainer)) {
      // `-e`: redis-cli exits 1 on an error reply, such as LOADING while the AOF is replayed.
      const byCommand = probe.exec?.command?.join(' ') === 'redis-cli -e ping';
      const byPort = containerPort(jobsRedisContainer, probe.tcpSocket?.port) === 6379;
      expect({ probe, ok: byCommand || byPort }).toEqual({ probe, ok: true });
    }
    const { startupProbe, readinessProbe } = jobsRedisContainer;
    expect([startupProbe, readinessProbe].map((probe) => probe?.exec?.command?.join(' '))).toEqual([
      'redis-cli -e ping',
      'redis-cli -e ping',
    ]);
    // Minutes for the replay before liveness may restart it (and start the replay over).
    expect((startupProbe?.periodSeconds ?? 10) * (startupProbe?.failureThreshold ?? 3)).toBeGreaterThanOrEqual(120);
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

  it('runs the jobs Redis with an ACL file from a Secret of its own and the cache Redis’s pinned image', () => {
    const [cacheContainer] = containers(cacheRedis);
    expect(jobsRedisContainer.image).toBe(cacheContainer.image);
    const aclFile = redisArg(jobsRedisArgs, '--aclfile');
    const aclSecret = secretMounts(jobsRedis, jobsRedisContainer).find((mount) =>
      aclFile?.startsWith(`${mount.path}/`),
    )?.secretName;
    expect(aclSecret).toBe('sentiment-jobs-redis-acl');
    expect(secretMounts(cacheRedis, cacheContainer).map((mount) => mount.secretName)).not.toContain(aclSecret);
    // The ACL of docs/DEPLOY.md: no anonymous access beyond PING (the probes); the API's user may
    // touch only the job store's and BullMQ's keys, with no admin or dangerous command but INFO.
    const acl = deployGuideAcl(aclSecret!, 'PASSWORD_VARIABLE');
    expect(acl).toContain('user default on nopass -@all +ping');
    const apiUser = acl.filter((line) => !line.startsWith('user default ')).map((line) => line.split(' '));
    expect(apiUser).toHaveLength(1);
    expect(apiUser[0].slice(0, 3)).toEqual(['user', 'sentiment-api', 'on']);
    // A password from a shell variable (openssl rand), never one written in the guide.
    expect(apiUser[0][3]).toBe('>PASSWORD_VARIABLE');
    expect(apiUser[0].slice(4)).toEqual([
      '~{sentiment:jobs}:*',
      '~{bull}:*',
      '+@all',
      '-@admin',
      '-@dangerous',
      '+info',
    ]);
  });

  it('keeps jobs in a StatefulSet of one, its volume claim mounted where Redis writes (--dir)', () => {
    expect(jobsRedis.spec?.replicas).toBe(1);
    const dir = redisArg(jobsRedisArgs, '--dir');
    expect(dir).toMatch(/^\//);
    const mount = jobsRedisContainer.volumeMounts?.find((candidate) => candidate.mountPath === dir);
    expect(mount?.readOnly).not.toBe(true);
    const claim = jobsRedis.spec?.volumeClaimTemplates?.find((template) => template.metadata?.name === mount?.name);
    expect(claim?.spec?.accessModes).toEqual(['ReadWriteOnce']);
    // A pod volume of the same name would be mounted instead of the claim.
    expect((jobsRedis.spec!.template.spec!.volumes ?? []).map((volume) => volume.name)).not.toContain(mount?.name);
    // Room for the AOF's base file, its increment and a rewrite's new base at once.
    const maxmemory = redisMemoryBytes(redisArg(jobsRedisArgs, '--maxmemory') ?? '');
    expect(quantityBytes(claim?.spec?.resources?.requests?.storage)).toBeGreaterThanOrEqual(3 * maxmemory);
    // Deleting or scaling the StatefulSet keeps the jobs.
    expect(jobsRedis.spec?.persistentVolumeClaimRetentionPolicy?.whenDeleted ?? 'Retain').toBe('Retain');
    expect(jobsRedis.spec?.persistentVolumeClaimRetentionPolicy?.whenScaled ?? 'Retain').toBe('Retain');
    // Its governing Service is the one that selects its pods.
    const service = named<IService>(objects, 'Service', jobsRedis.spec!.serviceName!);
    expect(selects(service.spec?.selector, jobsRedis.spec!.template.metadata!.labels)).toBe(true);
  });

  it('runs the jobs Redis durable: AOF fsynced every second, noeviction, maxmemory well below its memory limit', () => {
    expect(redisArg(jobsRedisArgs, '--appendonly')).toBe('yes');
    expect(redisArg(jobsRedisArgs, '--appendfsync')).toBe('everysec');
    expect(redisArg(jobsRedisArgs, '--maxmemory-policy')).toBe('noeviction');
    const maxmemory = redisMemoryBytes(redisArg(jobsRedisArgs, '--maxmemory') ?? '');
    const { requests, limits } = jobsRedisContainer.resources ?? {};
    // 0 would be no limit at all: Redis would grow until the kernel kills it.
    expect(maxmemory).toBeGreaterThan(0);
    // A quarter of the limit at least for the fork of an AOF rewrite, buffers and clients.
    expect(maxmemory).toBeLessThanOrEqual(0.75 * quantityBytes(limits?.memory));
    expect(quantityBytes(requests?.memory)).toBeGreaterThanOrEqual(maxmemory);
    // What test/deploy/support/shipped-redis.ts hands the tests is what the cluster runs.
    expect(shippedRedisArgs(JOBS_REDIS_FILE)).toEqual(withoutPodPaths(jobsRedisArgs));
  });

  it('keeps the cache Redis volatile: no RDB, no AOF, LRU eviction below its memory limit, an emptyDir', () => {
    const [container] = containers(cacheRedis);
    const args = container.args ?? [];
    expect(redisArg(args, '--save')).toBe('');
    expect(redisArg(args, '--appendonly')).toBe('no');
    expect(redisArg(args, '--maxmemory-policy')).toBe('allkeys-lru');
    const maxmemory = redisMemoryBytes(redisArg(args, '--maxmemory') ?? '');
    expect(maxmemory).toBeGreaterThan(0);
    expect(maxmemory).toBeLessThan(quantityBytes(container.resources?.limits?.memory));
    // The official image's working directory, where Redis would write: nothing that outlives the pod.
    const data = container.volumeMounts?.find((mount) => mount.mountPath === (redisArg(args, '--dir') ?? '/data'));
    const volume = cacheRedis.spec!.template.spec!.volumes?.find((candidate) => candidate.name === data?.name);
    expect(volume?.emptyDir).toBeDefined();
    expect(shippedRedisArgs(CACHE_REDIS_FILE)).toEqual(withoutPodPaths(args));
  });

  it('gives the API JOBS_REDIS_URL from the operator’s Secret, pointing at the jobs Redis, not the cache’s', () => {
    const ref = apiEnvironment.external.find((candidate) => candidate.variable === 'JOBS_REDIS_URL');
    expect(ref).toEqual({ kind: 'Secret', name: 'sentiment-api-jobs-redis', key: 'url', variable: 'JOBS_REDIS_URL' });
    expect(DEPLOY_GUIDE).toContain(`kubectl create secret generic ${ref?.name}`);
    const { jobs, redisUrl } = apiSettings();
    const url = new URL(jobs.redisUrl!);
    const service = named<IService>(objects, 'Service', url.hostname);
    expect(service.spec?.ports?.map((entry) => entry.port)).toContain(Number(url.port || 6379));
    expect(selects(service.spec?.selector, jobsRedis.spec!.template.metadata!.labels)).toBe(true);
    expect(new URL(redisUrl!).hostname).not.toBe(url.hostname);
    // The guide puts the same password in the URL as in the jobs Redis's ACL, for the same user.
    const urlPassword = /:\$(\w+)@/.exec(deployGuideSecretCommand(ref!.name) ?? '')?.[1];
    const aclPassword = /user sentiment-api on >\$(\w+)/.exec(
      deployGuideSecretCommand('sentiment-jobs-redis-acl') ?? '',
    )?.[1];
    expect(urlPassword).toBeDefined();
    expect(urlPassword).toBe(aclPassword);
    expect(url.username).toBe('sentiment-api');
  });

  /** Exactly one NetworkPolicy selects `redis`'s pods; it admits the API pods alone, on Redis's port. */
  function expectOnlyTheApiToReach(redis: Workload): void {
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
        workloads
          .filter((workload) => selects(peer.podSelector?.matchLabels, workload.spec!.template.metadata!.labels))
          .map((d) => d.metadata.name),
      ).toEqual(['sentiment-api']);
    }
    const ports = (spec.ingress ?? [])
      .flatMap((rule) => rule.ports ?? [])
      .map((port) => containerPort(containers(redis)[0], port.port));
    expect(ports).toEqual([6379]);
  }

  it('lets only the API pods reach Redis, on the port Redis listens on', () => {
    expectOnlyTheApiToReach(cacheRedis);
  });

  it('lets only the API pods reach the jobs Redis, on the port it listens on', () => {
    expectOnlyTheApiToReach(jobsRedis);
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

/** True when one of `rule`'s ports admits TCP to `port` (a single port, or a range up to endPort). */
function allowsTcp(rule: { ports?: INetworkPolicyPort[] }, port: number): boolean {
  return (rule.ports ?? []).some(
    (entry) =>
      (entry.protocol ?? 'TCP') === 'TCP' &&
      typeof entry.port === 'number' &&
      entry.port <= port &&
      port <= (entry.endPort ?? entry.port),
  );
}

describe.each(MANAGED_REDIS_OVERLAYS)('%s overlay: managed Redis in place of the in-cluster ones', (overlay) => {
  const { objects, deployments, statefulSets, workloads, api, apiContainer, apiEnvironment, apiMounts, apiSettings } =
    overlayParts(overlay);
  const apiPolicies = ofKind<INetworkPolicy>(objects, 'NetworkPolicy').filter((policy) =>
    selects(policy.spec?.podSelector?.matchLabels, api.spec!.template.metadata!.labels),
  );

  it('runs no Redis of its own: no Redis workload, Service or NetworkPolicy remains', () => {
    expect(deployments.map((deployment) => deployment.metadata.name)).toEqual(['sentiment-api']);
    expect(statefulSets).toEqual([]);
    expect(workloads.flatMap(containers).map((container) => container.image)).not.toContainEqual(
      expect.stringMatching(/redis/),
    );
    expect(ofKind(objects, 'Service').map((service) => service.metadata.name)).toEqual(['sentiment-api']);
    expect(ofKind(objects, 'NetworkPolicy').map((policy) => policy.metadata.name)).toEqual(['sentiment-api']);
    expect(objects.filter((object) => /redis/.test(object.metadata.name))).toEqual([]);
  });

  it('points REDIS_URL and JOBS_REDIS_URL at Azure Cache for Redis over TLS, rediss:// on 6380, from the ConfigMap', () => {
    expect(apiEnvironment.external.map((ref) => ref.variable)).not.toContainEqual(expect.stringMatching(/REDIS/));
    const { redisUrl, jobs } = apiSettings();
    for (const url of [redisUrl, jobs.redisUrl].map((text) => new URL(text ?? 'missing:'))) {
      expect({ protocol: url.protocol, port: url.port }).toEqual({ protocol: 'rediss:', port: '6380' });
      expect(url.hostname).toMatch(/^[a-z0-9-]+\.redis\.cache\.windows\.net$/);
    }
    // Azure's certificates chain to public roots, which Node trusts: no CA file to mount.
    expect(apiEnvironment.values.REDIS_TLS_CA_FILE).toBeUndefined();
  });

  it('takes the Redis passwords from the operator’s Secret, mounted read-only, never from the manifests', () => {
    for (const name of ['REDIS_PASSWORD', 'JOBS_REDIS_PASSWORD']) {
      expect(apiEnvironment.values[name]).toBeUndefined();
      expect(apiContainer.env?.map((variable) => variable.name)).not.toContain(name);
    }
    const command = deployGuideSecretCommand('sentiment-api-managed-redis') ?? '';
    for (const name of ['REDIS_PASSWORD_FILE', 'JOBS_REDIS_PASSWORD_FILE']) {
      const file = apiEnvironment.values[name] ?? '';
      const mount = apiMounts.find((candidate) => file.startsWith(`${candidate.path}/`));
      expect({ name, secret: mount?.secretName }).toEqual({ name, secret: 'sentiment-api-managed-redis' });
      expect(apiContainer.volumeMounts?.find((candidate) => candidate.mountPath === mount?.path)?.readOnly).toBe(true);
      // The file is a key of the Secret the guide creates.
      expect(command).toMatch(new RegExp(`--from-(literal|file)=${file.slice(mount!.path.length + 1)}=`));
    }
    // What the service logs in with is what the Secret's files hold.
    const { redisPassword, jobs } = apiSettings();
    expect([redisPassword, jobs.redisPassword]).toEqual([STAND_IN_SECRET, STAND_IN_SECRET]);
  });

  it('makes Redis Cluster a setting of the component: off, for single-node instances', () => {
    expect([apiEnvironment.values.REDIS_CLUSTER, apiEnvironment.values.JOBS_REDIS_CLUSTER]).toEqual(['false', 'false']);
    const { redisCluster, jobs } = apiSettings();
    expect([redisCluster, jobs.redisCluster]).toEqual([false, false]);
  });

  it('lets the API pods out only to DNS and the managed Redis’s ports (6380; 15000-15999 for a clustered cache)', () => {
    expect(apiPolicies).toHaveLength(1);
    const spec = apiPolicies[0].spec!;
    expect(spec.policyTypes).toEqual(['Ingress', 'Egress']);
    const rules = spec.egress ?? [];
    const dns = rules.filter((rule) => (rule.to ?? []).length > 0);
    // DNS: to CoreDNS only, on 53.
    expect(dns).toHaveLength(1);
    expect(dns[0].to).toEqual([
      {
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
        podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
      },
    ]);
    expect(dns[0].ports).toEqual([
      { protocol: 'UDP', port: 53 },
      { protocol: 'TCP', port: 53 },
    ]);
    // Redis: to any address (the instances' public IPs are not fixed), on its ports alone.
    const redis = rules.filter((rule) => rule.to === undefined);
    expect(redis).toHaveLength(1);
    expect(redis[0].ports).toEqual([
      { protocol: 'TCP', port: 6380 },
      { protocol: 'TCP', port: 15000, endPort: 15999 },
    ]);
    const { redisUrl, jobs } = apiSettings();
    for (const url of [redisUrl, jobs.redisUrl]) expect(allowsTcp(redis[0], Number(new URL(url!).port))).toBe(true);
    // The component adds egress; what reaches the pods stays the aks overlay's.
    expect((spec.ingress ?? []).flatMap((rule) => rule.ports ?? []).map((port) => port.port)).toEqual([
      apiSettings().port,
    ]);
  });
});

describe('the Redis arguments deploy/k8s ships, run by a local redis-server', () => {
  it.each([
    [JOBS_REDIS_FILE, { appendonly: 'yes', appendfsync: 'everysec', save: '', 'maxmemory-policy': 'noeviction' }],
    [CACHE_REDIS_FILE, { appendonly: 'no', save: '', 'maxmemory-policy': 'allkeys-lru' }],
  ])('%s: Redis reports back the persistence and eviction the manifest sets', async (file, expected) => {
    const args = shippedRedisArgs(file);
    const server = await startRedisServer({ own: true, config: args });
    const client = createClient({ url: server.url });
    try {
      await client.connect();
      const reported: Record<string, string> = {};
      for (const name of [...Object.keys(expected), 'maxmemory']) Object.assign(reported, await client.configGet(name));
      expect(reported).toEqual({
        ...expected,
        maxmemory: String(redisMemoryBytes(redisArg(args, '--maxmemory') ?? '')),
      });
    } finally {
      await client.quit().catch(() => undefined);
      await server.stop();
    }
  });
});
