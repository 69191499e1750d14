import { describe, expect, it } from '@jest/globals';
import { schemaProblems } from './support/kubernetes-schema.js';
import { named, OVERLAYS, render, type KubernetesObject } from './support/manifests.js';

/** Fields whose schema is a string map (`additionalProperties`): any key is valid there. */
const MAP_FIELDS = new Set(['labels', 'annotations', 'matchLabels', 'selector', 'data', 'limits', 'requests']);

/** JSON-pointer paths of every object (not array) inside `value`, itself included. */
function objectPaths(value: unknown, path = ''): string[] {
  if (value === null || typeof value !== 'object') return [];
  const children = Object.entries(value).flatMap(([key, child]) => objectPaths(child, `${path}/${key}`));
  return Array.isArray(value) ? children : [path, ...children];
}

function at(value: unknown, path: string): unknown {
  return path
    .split('/')
    .slice(1)
    .reduce((node, key) => (node as Record<string, unknown>)[key], value);
}

const FOLDERS = ['base', ...OVERLAYS.map((overlay) => `overlays/${overlay}`)];

describe('Kubernetes manifests against the Kubernetes OpenAPI schemas (kubernetes-models, strict)', () => {
  it.each(FOLDERS)('%s renders with kubectl kustomize and every object is valid', async (folder) => {
    const objects = render(folder);
    expect(objects.length).toBeGreaterThan(5);
    const problems = await Promise.all(
      objects.map(async (object) => ({
        object: `${object.kind}/${object.metadata.name}`,
        problems: await schemaProblems(object),
      })),
    );
    expect(problems.filter((entry) => entry.problems.length > 0)).toEqual([]);
  });

  describe('the validator itself', () => {
    const deployment = () =>
      structuredClone(
        named<KubernetesObject>(render('overlays/minikube'), 'Deployment', 'sentiment-api'),
      ) as unknown as {
        spec: { template: { spec: { containers: Record<string, unknown>[] } } };
      } & KubernetesObject;

    it('rejects a misspelt field at any depth, which the schemas alone would let through', async () => {
      const object = deployment();
      const container = object.spec.template.spec.containers[0];
      container.imagePullPolcy = 'Always';
      (container.readinessProbe as Record<string, unknown>).periodSecond = 5;
      (object.metadata as Record<string, unknown>).lables = { a: 'b' };

      const problems = await schemaProblems(object);

      expect(problems).toEqual(
        expect.arrayContaining([
          { path: '/spec/template/spec/containers/0/imagePullPolcy', message: 'unknown field' },
          { path: '/spec/template/spec/containers/0/readinessProbe/periodSecond', message: 'unknown field' },
          { path: '/metadata/lables', message: 'unknown field' },
        ]),
      );
      expect(problems).toHaveLength(3);
    });

    it('rejects wrong types and missing required fields', async () => {
      const object = deployment();
      const container = object.spec.template.spec.containers[0];
      (container.ports as Record<string, unknown>[])[0].containerPort = 'eight thousand';
      delete container.name;

      const paths = (await schemaProblems(object)).map((problem) => problem.path);

      expect(paths).toEqual(
        expect.arrayContaining([
          '/spec/template/spec/containers/0/ports/0/containerPort',
          '/spec/template/spec/containers/0',
        ]),
      );
    });

    it('accepts free keys where the schema has a map (labels, annotations, ConfigMap data, quantities)', async () => {
      const object = deployment();
      object.metadata.labels = { ...object.metadata.labels, 'example.com/any-key': 'x' };
      object.metadata.annotations = { 'example.com/note': 'y' };

      expect(await schemaProblems(object)).toEqual([]);
      expect(
        await schemaProblems({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'c' },
          data: { ANY_KEY: '1' },
        } as KubernetesObject),
      ).toEqual([]);
    });

    it('finds an unknown field in every struct of every rendered object; only maps take free keys', async () => {
      const accepted: string[] = [];
      let rejected = 0;
      for (const object of OVERLAYS.flatMap((overlay) => render(`overlays/${overlay}`))) {
        for (const path of objectPaths(object)) {
          const copy = structuredClone(object);
          (at(copy, path) as Record<string, unknown>).unknownFieldProbe = 'x';
          const problems = await schemaProblems(copy);
          if (problems.some((problem) => problem.path === `${path}/unknownFieldProbe`)) rejected += 1;
          else accepted.push(`${object.kind} ${path}`);
        }
      }
      expect(rejected).toBeGreaterThan(100);
      expect(accepted.filter((entry) => !MAP_FIELDS.has(entry.split('/').pop()!))).toEqual([]);
    });

    it('refuses an object whose kind it has no schema for', async () => {
      await expect(schemaProblems({ apiVersion: 'v1', kind: 'Deploymnet', metadata: { name: 'x' } })).rejects.toThrow(
        /no v1 Deploymnet/,
      );
    });
  });
});
