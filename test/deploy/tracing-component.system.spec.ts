import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { tracingRequested } from '../../src/telemetry/tracing.js';
import { TEST_OUTPUT_DIR } from '../support/paths.js';
import { K8S_DIR, named, ofKind, OVERLAYS, render, type KubernetesObject } from './support/manifests.js';
import { settingsVariables } from './support/settings-variables.js';

const HASH_SUFFIX = /-[a-z0-9]{10}$/;
const COMPONENT = join(K8S_DIR, 'components', 'tracing');

/** An overlay of `overlay` with the tracing component, as docs/OPERATING.md tells an operator to write it. */
function renderWithTracing(overlay: string): KubernetesObject[] {
  const folder = join(TEST_OUTPUT_DIR, 'tracing-overlays', overlay);
  mkdirSync(folder, { recursive: true });
  writeFileSync(
    join(folder, 'kustomization.yaml'),
    [
      'apiVersion: kustomize.config.k8s.io/v1beta1',
      'kind: Kustomization',
      'resources:',
      `  - ${relative(folder, join(K8S_DIR, 'overlays', overlay))}`,
      'components:',
      `  - ${relative(folder, COMPONENT)}`,
      '',
    ].join('\n'),
  );
  return render(relative(K8S_DIR, folder));
}

/** Kind and name; the ConfigMap's without its content hash, which its content changes. */
const id = (object: KubernetesObject) => `${object.kind}/${object.metadata.name.replace(HASH_SUFFIX, '')}`;
const settingsOf = (objects: KubernetesObject[]) =>
  ofKind<IConfigMap>(objects, 'ConfigMap').find((map) => id(map) === 'ConfigMap/sentiment-api-config')!.data ?? {};

describe.each(OVERLAYS)('the tracing component added to the %s overlay', (overlay) => {
  const without = render(`overlays/${overlay}`);
  const withTracing = renderWithTracing(overlay);

  it('adds only OTEL_* settings, and they turn tracing on, towards the collector’s OTLP/HTTP port', () => {
    const [before, after] = [settingsOf(without), settingsOf(withTracing)];
    const added = Object.keys(after).filter((name) => before[name] !== after[name]);
    expect(added.filter((name) => !name.startsWith('OTEL_'))).toEqual([]);
    expect(Object.keys(before).filter((name) => !(name in after))).toEqual([]);
    expect(tracingRequested(after)).toBe(true);
    expect(new URL(after.OTEL_EXPORTER_OTLP_ENDPOINT).port).toBe('4318');
    expect(after.OTEL_TRACES_SAMPLER).toBe('parentbased_traceidratio');
    expect(Number(after.OTEL_TRACES_SAMPLER_ARG)).toBeGreaterThan(0);
    // The SDK reads them; the config module does not (so they are no setting of docs/CONFIGURATION.md).
    expect([...settingsVariables()].filter((name) => name.startsWith('OTEL_'))).toEqual([]);
  });

  it('changes no object but the settings, and the Deployment only by their new name (a rollout)', () => {
    expect(withTracing.map(id).sort()).toEqual(without.map(id).sort());
    const same = (object: KubernetesObject) => {
      const copy = structuredClone(object);
      if (copy.kind === 'Deployment') {
        for (const container of (copy as IDeployment & KubernetesObject).spec!.template.spec!.containers)
          for (const source of container.envFrom ?? [])
            if (source.configMapRef?.name) source.configMapRef.name = source.configMapRef.name.replace(HASH_SUFFIX, '');
      }
      return copy;
    };
    for (const object of without.filter((candidate) => candidate.kind !== 'ConfigMap'))
      expect(same(withTracing.find((candidate) => id(candidate) === id(object))!)).toEqual(same(object));
    expect(named<IDeployment>(withTracing, 'Deployment', 'sentiment-api')).toBeDefined();
  });
});
