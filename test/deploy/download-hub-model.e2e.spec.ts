import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { baselineModelId } from '../../src/baseline-model/write-baseline-model.js';
import { hasLocalModel, modelFolder, sha256File } from '../../src/model/model-files.js';
import { startHubMirror, type HubMirror } from '../support/hub-mirror.js';
import { TEST_MODELS_DIR, TEST_OUTPUT_DIR } from '../support/paths.js';
import { startTestApp } from '../support/test-app.js';
import { classifyTexts } from '../support/classify-texts.js';
import { DOCKERFILE } from './support/dockerfile.js';

const execFileAsync = promisify(execFile);

// The Dockerfile's model-hub stage runs this script; the real hub is out of reach in tests, so a
// local mirror speaking the hub's protocol serves the tiny baseline as a gated repository.
const SOURCE = modelFolder(TEST_MODELS_DIR, baselineModelId('tiny'));
const MODEL_ID = 'test-org/distilbert-sst2-baseline';
const TOKEN = 'hf_mirror_build_token_0123456789';
const OUT_DIR = join(TEST_OUTPUT_DIR, 'deploy', 'hub-download');
const FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model.onnx'];

/** Runs the script as the model-hub stage does, with HF_TOKEN as the build secret provides it. */
function download(endpoint: string, modelsDir: string, env: Record<string, string>, ...extra: string[]) {
  return execFileAsync(
    process.execPath,
    ['--import', 'tsx', 'scripts/download-hub-model.ts', '--model-id', MODEL_ID, '--models-dir', modelsDir, ...extra],
    { env: { PATH: process.env.PATH, HF_ENDPOINT: endpoint, ...env } },
  );
}

/** The model-hub stage's RUN step of the Dockerfile, its `--mount` options apart. */
function dockerfileDownloadStep(): string {
  const text = readFileSync(DOCKERFILE, 'utf8').replace(/\\\n/g, ' ');
  const stage = text.slice(text.indexOf('AS model-hub'), text.indexOf('FROM', text.indexOf('AS model-hub')));
  const run = /^RUN (.*)$/m.exec(stage)?.[1] ?? '';
  return run.replace(/--mount=\S+\s+/g, '').trim();
}

describe('scripts/download-hub-model.ts (the image’s model download)', () => {
  let hub: HubMirror;

  beforeAll(async () => {
    rmSync(OUT_DIR, { recursive: true, force: true });
    hub = await startHubMirror([
      { id: MODEL_ID, folder: SOURCE, revisions: ['main', 'v1.0'], token: TOKEN },
      { id: 'test-org/tampered', folder: SOURCE, substitutes: { 'onnx/model.onnx': 'onnx/model_quantized.onnx' } },
      { id: 'test-org/incomplete', folder: SOURCE, omit: ['onnx/model.onnx'] },
    ]);
  });
  afterAll(() => hub.close());

  it('runs the Dockerfile’s step as written: the token from the build secret, never from a build argument', async () => {
    const step = dockerfileDownloadStep();
    expect(step).toContain('scripts/download-hub-model.ts');
    expect(readFileSync(DOCKERFILE, 'utf8')).toMatch(/RUN --mount=type=secret,id=hf_token /);
    expect(readFileSync(DOCKERFILE, 'utf8')).not.toMatch(/^(ARG|ENV)\s+HF_TOKEN/m);

    // What BuildKit provides: the secret file and the build arguments in the step's environment.
    const secret = join(OUT_DIR, 'secrets', 'hf_token');
    mkdirSync(join(OUT_DIR, 'secrets'), { recursive: true });
    writeFileSync(secret, `${TOKEN}\n`);
    const modelsDir = join(OUT_DIR, 'dockerfile');
    hub.requests.length = 0;
    const { stdout } = await execFileAsync(
      'sh',
      ['-c', step.replaceAll('/run/secrets/hf_token', secret).replaceAll('/app/models', modelsDir)],
      {
        env: {
          PATH: process.env.PATH,
          MODEL_ID,
          MODEL_DTYPE: 'fp32',
          MODEL_REVISION: 'v1.0',
          HF_ENDPOINT: hub.endpoint,
          MODEL_SHA256: await sha256File(join(SOURCE, 'onnx/model.onnx')),
        },
      },
    );

    const folder = modelFolder(modelsDir, MODEL_ID);
    expect(stdout.trim()).toBe(folder);
    const resolved = hub.requests.filter((request) => request.path.includes('/resolve/'));
    expect(new Set(resolved.map((request) => request.path))).toEqual(
      new Set(FILES.map((file) => `/${MODEL_ID}/resolve/v1.0/${file}`)),
    );
    expect(resolved.every((request) => request.authorization === `Bearer ${TOKEN}`)).toBe(true);
    for (const file of FILES) {
      expect(readFileSync(join(folder, file)).equals(readFileSync(join(SOURCE, file)))).toBe(true);
    }

    const t = await startTestApp({ MODEL_DIR: modelsDir, MODEL_ID, MODEL_FALLBACK: 'none' });
    try {
      expect(t.model.requireInfo()).toMatchObject({ id: MODEL_ID, source: 'local' });
      const [prediction] = await classifyTexts(t.model, ['what a lovely day']);
      expect(prediction.reduce((sum, entry) => sum + entry.score, 0)).toBeCloseTo(1, 6);
    } finally {
      await t.close();
    }
  });

  it('fetches the quantized file for --dtype q8, at MODEL_REVISION', async () => {
    hub.requests.length = 0;
    const modelsDir = join(OUT_DIR, 'q8');
    await download(hub.endpoint, modelsDir, { HF_TOKEN: TOKEN, MODEL_REVISION: 'v1.0' }, '--dtype', 'q8');

    expect(hub.requests.map((request) => request.path)).toContain(
      `/${MODEL_ID}/resolve/v1.0/onnx/model_quantized.onnx`,
    );
    expect(hasLocalModel(modelsDir, MODEL_ID, 'q8')).toBe(true);
  });

  it('fails on a wrong token with a 401 naming HF_TOKEN, never printing the token', async () => {
    const modelsDir = join(OUT_DIR, 'wrong-token');
    const failure = download(hub.endpoint, modelsDir, { HF_TOKEN: 'hf_not_the_right_token_000000' });
    await expect(failure).rejects.toMatchObject({ code: 1 });
    const { stderr } = (await failure.catch((error: unknown) => error)) as { stderr: string };
    expect(stderr).toMatch(
      /refused test-org\/distilbert-sst2-baseline@main \(HTTP 401\): HF_TOKEN is missing, invalid/,
    );
    expect(stderr).toContain('Invalid credentials in Authorization header');
    expect(stderr).not.toContain('hf_not_the_right_token');
    expect(hasLocalModel(modelsDir, MODEL_ID, 'fp32')).toBe(false);
  });

  it('fails without a token on a gated repository', async () => {
    const failure = download(hub.endpoint, join(OUT_DIR, 'no-token'), {});
    await expect(failure).rejects.toHaveProperty('stderr', expect.stringMatching(/HTTP 401.*Access to model/s));
  });

  it('fails on a revision the hub does not have', async () => {
    const failure = download(hub.endpoint, join(OUT_DIR, 'no-revision'), { HF_TOKEN: TOKEN }, '--revision', 'v9');
    await expect(failure).rejects.toHaveProperty('stderr', expect.stringContaining('Invalid rev id: v9'));
  });

  it('fails when a file is missing, naming it, and leaves no complete-looking model', async () => {
    const modelsDir = join(OUT_DIR, 'missing');
    const failure = download(hub.endpoint, modelsDir, {}, '--model-id', 'test-org/incomplete');
    await expect(failure).rejects.toMatchObject({ code: 1 });
    await expect(failure).rejects.toHaveProperty(
      'stderr',
      expect.stringContaining('test-org/incomplete has no file onnx/model.onnx at revision main'),
    );
    expect(hasLocalModel(modelsDir, 'test-org/incomplete', 'fp32')).toBe(false);
  });

  it('refuses a file whose SHA-256 is not MODEL_SHA256, naming both digests, and keeps none of it', async () => {
    const modelsDir = join(OUT_DIR, 'tampered');
    const expected = await sha256File(join(SOURCE, 'onnx/model.onnx'));
    const actual = await sha256File(join(SOURCE, 'onnx/model_quantized.onnx'));
    const failure = download(hub.endpoint, modelsDir, { MODEL_SHA256: expected }, '--model-id', 'test-org/tampered');
    await expect(failure).rejects.toMatchObject({ code: 1 });
    const { stderr } = (await failure.catch((error: unknown) => error)) as { stderr: string };
    expect(stderr).toContain(`has SHA-256 ${actual}, not the ${expected} MODEL_SHA256 expects`);
    expect(existsSync(join(modelFolder(modelsDir, 'test-org/tampered'), 'onnx/model.onnx'))).toBe(false);
  });
});
