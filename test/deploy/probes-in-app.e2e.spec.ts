import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import { parse } from 'yaml';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { named, OVERLAYS, render } from './support/manifests.js';

/** Every HTTP path a manifest makes Kubernetes or Prometheus call on the API pods. */
function pathsCalledByTheCluster(): { probes: string[]; scrape: string[] } {
  const deployments = OVERLAYS.map((overlay) =>
    named<IDeployment>(render(`overlays/${overlay}`), 'Deployment', 'sentiment-api'),
  );
  const probes = deployments.flatMap((deployment) =>
    deployment.spec!.template.spec!.containers.flatMap((container) =>
      [container.startupProbe, container.readinessProbe, container.livenessProbe].flatMap(
        (probe) => probe?.httpGet?.path ?? [],
      ),
    ),
  );
  const scrape = deployments.flatMap(
    (deployment) => deployment.spec!.template.metadata?.annotations?.['prometheus.io/path'] ?? [],
  );
  return { probes: [...new Set(probes)].sort(), scrape: [...new Set(scrape)] };
}

describe('the paths the manifests call exist in the contract and in the app', () => {
  const { probes, scrape } = pathsCalledByTheCluster();
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('probes /health/live and /health/ready, and scrapes /metrics', () => {
    expect(probes).toEqual(['/health/live', '/health/ready']);
    expect(scrape).toEqual(['/metrics']);
  });

  it('documents every probe path as a GET operation in openapi.yaml', () => {
    const document = parse(readFileSync(join(process.cwd(), 'openapi.yaml'), 'utf8')) as {
      paths: Record<string, { get?: { operationId?: string } }>;
    };
    expect(probes.map((path) => document.paths[path]?.get?.operationId)).toEqual(['getLiveness', 'getReadiness']);
  });

  it('answers every probe path with 200 once the model is loaded', async () => {
    const fastify = t.app.getHttpAdapter().getInstance();
    for (const path of probes) {
      const response = await fastify.inject({ method: 'GET', url: path });
      expect({ path, status: response.statusCode }).toEqual({ path, status: 200 });
    }
  });

  it('serves Prometheus text on the scrape path', async () => {
    const response = await t.app.getHttpAdapter().getInstance().inject({ method: 'GET', url: scrape[0] });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain/);
    expect(response.body).toMatch(/^# HELP /m);
  });
});
