import { beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { SmokeReport } from '../../scripts/container-smoke.js';
import { HEAP_FLAGS } from '../../src/bootstrap/heap-flags.js';
import { TEST_OUTPUT_DIR } from '../support/paths.js';
import { imageDeclarations } from './support/dockerfile.js';

const execFileAsync = promisify(execFile);

const REPORT = join(TEST_OUTPUT_DIR, 'container-smoke', 'report.json');
/** A first build on a fresh machine (base image, npm ci, model) takes a few minutes; later ones reuse layers. */
const SMOKE_TIMEOUT_MS = 20 * 60_000;
const MB = 1_000_000;

type Prediction = { label: string; score: number }[];

// Builds the Dockerfile with podman and runs the image with buildah (scripts/container-smoke.ts),
// offline: MODEL_SOURCE=baseline bakes in the generated DistilBERT-base-sized model.
describe('the container image, built and run (podman + buildah)', () => {
  let report: SmokeReport;
  let scriptError: unknown;

  beforeAll(async () => {
    rmSync(REPORT, { force: true });
    try {
      await execFileAsync(process.execPath, ['--import', 'tsx', 'scripts/container-smoke.ts', '--report', REPORT], {
        timeout: SMOKE_TIMEOUT_MS,
        maxBuffer: 64 * MB,
      });
    } catch (error) {
      // The script exits 1 when a check fails; the report says which, and the tests below show it.
      scriptError = error;
    }
    if (!existsSync(REPORT)) {
      const stderr = (scriptError as { stderr?: string } | undefined)?.stderr ?? String(scriptError);
      throw new Error(`the container smoke script wrote no report:\n${stderr}`);
    }
    report = JSON.parse(readFileSync(REPORT, 'utf8')) as SmokeReport;
    const shares = report.size.shares.map((share) => `${share.path} ${Math.round(share.bytes / MB)} MB`).join(', ');
    console.log(`image ${Math.round(report.size.bytes / MB)} MB (limit ${report.size.limitBytes / MB} MB): ${shares}`);
  }, SMOKE_TIMEOUT_MS);

  it('declares what the Dockerfile says: non-root numeric user, tini entrypoint, production settings', () => {
    const declared = imageDeclarations({ MODEL_SOURCE: 'baseline' });
    expect(report.config.user).toBe(declared.user);
    expect(report.config.user).toMatch(/^[1-9]\d*:\d+$/);
    expect(report.config.entrypoint).toEqual(declared.entrypoint);
    expect(report.config.cmd).toEqual(declared.cmd);
    expect(report.config.env).toEqual(
      expect.arrayContaining(Object.entries(declared.env).map(([name, value]) => `${name}=${value}`)),
    );
    expect(report.config.healthcheck[0]).toBe('CMD');
  });

  it('runs every process of the container as that user', () => {
    const uid = Number(report.config.user.split(':')[0]);
    const [node, script] = report.config.cmd.map((arg) => arg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    expect(report.processes.map((entry) => entry.command)).toEqual([
      [...report.config.entrypoint, ...report.config.cmd].join(' '),
      // The command, executed again by itself with V8's heap flags (src/bootstrap/heap-flags.ts), by absolute paths.
      expect.stringMatching(new RegExp(`^/\\S*/${node} ${HEAP_FLAGS.join(' ')} /\\S*/${script}$`)),
    ]);
    expect(report.processes.map((entry) => entry.uid)).toEqual([uid, uid]);
  });

  it('turns ready once the baked-in model is loaded, and its HEALTHCHECK passes', () => {
    expect(report.readiness).toMatchObject({ path: '/health/ready', status: 200 });
    expect(report.healthcheckExitCode).toBe(0);
  });

  it('answers a prediction with the baked-in model', () => {
    const modelId = report.config.env.find((entry) => entry.startsWith('MODEL_ID='))?.slice('MODEL_ID='.length);
    const body = report.prediction.body as { model: string; predictions: Prediction[] };
    expect(report.prediction.status).toBe(200);
    expect(body.model).toBe(modelId?.split('/').pop());
    expect(body.predictions).toHaveLength(2);
    for (const prediction of body.predictions) {
      expect(prediction.map((entry) => entry.label).sort()).toEqual(['NEGATIVE', 'POSITIVE']);
      expect(prediction.reduce((sum, entry) => sum + entry.score, 0)).toBeCloseTo(1, 6);
    }
  });

  it('exits 0 on SIGTERM, after the drain', () => {
    expect(report.shutdown.exitCode).toBe(0);
    expect(report.shutdown.seconds).toBeLessThan(30);
  });

  it('stays under the size limit, and says what the size is made of', () => {
    expect(report.size.bytes).toBeLessThan(report.size.limitBytes);
    expect(report.size.limitBytes).toBe(900 * MB);
    expect(report.size.shares.map((share) => share.path)).toEqual(
      expect.arrayContaining(['/app/models', '/app/node_modules', '/usr/local']),
    );
    expect(report.size.largestPackages.length).toBeGreaterThan(0);
  });

  it('reports no failed check', () => {
    expect(report.failures).toEqual([]);
  });
});
