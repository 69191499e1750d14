import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { baselineModelId } from '../../src/baseline-model/write-baseline-model.js';
import { fingerprint, hasLocalModel, modelFolder, sha256File } from '../../src/model/model-files.js';
import { startHubMirror, type HubMirror, type MirrorRepo } from '../support/hub-mirror.js';
import { TEST_MODELS_DIR, TEST_OUTPUT_DIR } from '../support/paths.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { until } from '../support/until.js';

// The runtime download (ALLOW_REMOTE_MODELS) of the built server against a local mirror speaking
// the hub's protocol, serving the tiny baseline's files as a gated repository.
const SOURCE = modelFolder(TEST_MODELS_DIR, baselineModelId('tiny'));
const MODEL_ID = 'test-org/distilbert-sst2-baseline';
const TAMPERED_ID = 'test-org/tampered-baseline';
const TOKEN = 'hf_mirror_runtime_token_0123456789';
const WRONG_TOKEN = 'hf_wrong_runtime_token_9876543210';
const OUT_DIR = join(TEST_OUTPUT_DIR, 'model', 'hub-download');
const TEXTS = ['what a lovely day', 'this was a terrible film'];
const REPOS: MirrorRepo[] = [
  { id: MODEL_ID, folder: SOURCE, revisions: ['main', 'v1.0'], token: TOKEN },
  // Serves other weights than the ones MODEL_SHA256 pins, as a compromised mirror would.
  {
    id: TAMPERED_ID,
    folder: SOURCE,
    revisions: ['v1.0'],
    token: TOKEN,
    substitutes: { 'onnx/model.onnx': 'onnx/model_quantized.onnx' },
  },
];

interface ModelAnswer {
  id: string;
  source: string;
  fingerprint: string;
}

/** What the server says once it has given up on the model: readiness 503 with the failure reason. */
async function failureReason(server: ServerProcess): Promise<string> {
  let reason: string | undefined;
  await until(async () => {
    const body = (await (await fetch(`${server.baseUrl}/health/ready`)).json()) as {
      error?: { model?: { state: string; failureReason?: string } };
    };
    reason = body.error?.model?.state === 'failed' ? body.error.model.failureReason : undefined;
    return reason !== undefined;
  }, 30_000);
  return reason!;
}

/** The server's JSON log lines. */
function logLines(server: ServerProcess): Record<string, unknown>[] {
  return readFileSync(server.logFile, 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

async function predictions(server: ServerProcess): Promise<unknown> {
  const response = await fetch(`${server.baseUrl}/v1/sentiment/predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ text: TEXTS }),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { predictions: unknown }).predictions;
}

describe('runtime download from a hub (HF_ENDPOINT, HF_TOKEN, MODEL_REVISION, MODEL_SHA256)', () => {
  const modelsDir = join(OUT_DIR, 'models');
  let genuineSha256: string;
  let quantizedSha256: string;
  let hub: HubMirror;
  let firstPredictions: unknown;

  const hubEnv = (overrides: Record<string, string> = {}) => ({
    MODEL_DIR: modelsDir,
    MODEL_ID,
    ALLOW_REMOTE_MODELS: 'true',
    MODEL_FALLBACK: 'none',
    HF_ENDPOINT: hub.endpoint,
    HF_TOKEN: TOKEN,
    MODEL_REVISION: 'v1.0',
    MODEL_SHA256: genuineSha256,
    ...overrides,
  });

  beforeAll(async () => {
    rmSync(OUT_DIR, { recursive: true, force: true });
    genuineSha256 = await sha256File(join(SOURCE, 'onnx/model.onnx'));
    quantizedSha256 = await sha256File(join(SOURCE, 'onnx/model_quantized.onnx'));
    hub = await startHubMirror(REPOS);
  });
  afterAll(() => hub.close());

  it('first start: downloads from HF_ENDPOINT at MODEL_REVISION with the token, checks it, serves `source: hub`', async () => {
    const server = await startServerProcess('hub-first-start', hubEnv());
    try {
      const info = (await (await fetch(`${server.baseUrl}/v1/model`)).json()) as ModelAnswer;
      expect(info).toMatchObject({ id: MODEL_ID, source: 'hub', fingerprint: fingerprint(genuineSha256) });
      firstPredictions = await predictions(server);

      const resolved = hub.requests.filter((request) => request.path.includes('/resolve/'));
      expect(resolved.map((request) => request.path)).toEqual(
        expect.arrayContaining(
          ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model.onnx'].map(
            (file) => `/${MODEL_ID}/resolve/v1.0/${file}`,
          ),
        ),
      );
      expect(resolved.every((request) => request.path.startsWith(`/${MODEL_ID}/resolve/v1.0/`))).toBe(true);
      expect(resolved.every((request) => request.authorization === `Bearer ${TOKEN}`)).toBe(true);
      // Downloads land where the next start looks first.
      expect(hasLocalModel(modelsDir, MODEL_ID, 'fp32')).toBe(true);
      expect(await sha256File(join(modelFolder(modelsDir, MODEL_ID), 'onnx/model.onnx'))).toBe(genuineSha256);
      expect(logLines(server)).toContainEqual(
        expect.objectContaining({
          msg: 'downloading model from the Hugging Face hub',
          model: MODEL_ID,
          revision: 'v1.0',
          endpoint: hub.endpoint,
        }),
      );
      expect(readFileSync(server.logFile, 'utf8')).not.toContain(TOKEN);
    } finally {
      await server.stop();
    }
  });

  it('second start: serves the local copy with the mirror stopped (`source: local`)', async () => {
    const endpoint = hub.endpoint;
    await hub.close();
    const server = await startServerProcess('hub-second-start', { ...hubEnv(), HF_ENDPOINT: endpoint });
    try {
      const info = (await (await fetch(`${server.baseUrl}/v1/model`)).json()) as ModelAnswer;
      expect(info).toMatchObject({ id: MODEL_ID, source: 'local', fingerprint: fingerprint(genuineSha256) });
      expect(await predictions(server)).toEqual(firstPredictions);
    } finally {
      await server.stop();
      hub = await startHubMirror(REPOS);
    }
  });

  it('a local copy that is not MODEL_SHA256 is refused, and kept: it is the operator’s', async () => {
    const server = await startServerProcess('hub-local-mismatch', hubEnv({ MODEL_SHA256: quantizedSha256 }), {
      until: 'live',
    });
    try {
      expect(await failureReason(server)).toContain(`has SHA-256 ${genuineSha256}, not the ${quantizedSha256}`);
      // An operator's file is theirs to replace: only a download that fails the check is deleted.
      expect(hasLocalModel(modelsDir, MODEL_ID, 'fp32')).toBe(true);
    } finally {
      await server.stop();
    }
  });

  it('wrong token: the hub’s 401 stops the load with a clear reason; the service never serves', async () => {
    const server = await startServerProcess(
      'hub-wrong-token',
      hubEnv({ MODEL_DIR: join(OUT_DIR, 'wrong-token'), HF_TOKEN: WRONG_TOKEN }),
      { until: 'live' },
    );
    try {
      const reason = await failureReason(server);
      expect(reason).toMatch(
        /hub download failed: the hub at http:\/\/127\.0\.0\.1:\d+ refused test-org\/distilbert-sst2-baseline@v1\.0 \(HTTP 401\): HF_TOKEN is missing, invalid, or lacks access/,
      );
      const model = await fetch(`${server.baseUrl}/v1/model`);
      expect(model.status).toBe(503);
      // A restart would fetch the same refusal: the process stays live, unready (see README, Models).
      expect((await fetch(`${server.baseUrl}/health/live`)).status).toBe(200);
      expect(logLines(server)).toContainEqual(
        expect.objectContaining({ msg: 'model download failed', model: MODEL_ID, revision: 'v1.0', status: 401 }),
      );
      expect(logLines(server)).toContainEqual(
        expect.objectContaining({ msg: 'model failed to load', error: expect.stringContaining('(HTTP 401)') }),
      );
      const log = readFileSync(server.logFile, 'utf8');
      expect(log).not.toContain(WRONG_TOKEN);
      expect(log).not.toContain(TOKEN);
      expect(hub.requests.some((request) => request.authorization === `Bearer ${WRONG_TOKEN}`)).toBe(true);
    } finally {
      await server.stop();
    }
  });

  it('wrong revision: a 404 naming MODEL_REVISION', async () => {
    const server = await startServerProcess(
      'hub-wrong-revision',
      hubEnv({ MODEL_DIR: join(OUT_DIR, 'wrong-revision'), MODEL_REVISION: 'v9' }),
      { until: 'live' },
    );
    try {
      expect(await failureReason(server)).toMatch(
        /has no such file at revision v9 .*check MODEL_ID and MODEL_REVISION/,
      );
    } finally {
      await server.stop();
    }
  });

  it('wrong checksum: downloaded weights that are not MODEL_SHA256 are refused, even with a fallback, and deleted', async () => {
    const tamperedDir = join(OUT_DIR, 'tampered');
    const server = await startServerProcess(
      'hub-tampered',
      hubEnv({ MODEL_DIR: tamperedDir, MODEL_ID: TAMPERED_ID, MODEL_FALLBACK: 'baseline' }),
      { until: 'live' },
    );
    try {
      expect(await failureReason(server)).toContain(
        `has SHA-256 ${quantizedSha256}, not the ${genuineSha256} MODEL_SHA256 expects: refusing to serve it`,
      );
      expect(logLines(server)).toContainEqual(
        expect.objectContaining({
          level: 50, // pino's error
          msg: 'model file checksum mismatch: refusing to serve',
          model: TAMPERED_ID,
          expectedSha256: genuineSha256,
          actualSha256: quantizedSha256,
        }),
      );
      expect((await fetch(`${server.baseUrl}/v1/model`)).status).toBe(503);
      expect(existsSync(join(modelFolder(tamperedDir, TAMPERED_ID), 'onnx/model.onnx'))).toBe(false);
    } finally {
      await server.stop();
    }
  });
});
