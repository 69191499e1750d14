import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { baselineModelId } from '../../src/model/baseline/write-baseline-model.js';
import { hasLocalModel, modelFolder } from '../../src/model/model-files.js';
import { TEST_MODELS_DIR, TEST_OUTPUT_DIR } from '../support/paths.js';
import { startTestApp } from '../support/test-app.js';

const execFileAsync = promisify(execFile);

// The Dockerfile's model-hub stage runs this script; the real hub is out of reach in tests, so a
// local server answers the hub's `/<id>/resolve/<revision>/<file>` URLs with the tiny baseline.
const SOURCE = modelFolder(TEST_MODELS_DIR, baselineModelId('tiny'));
const MODEL_ID = 'acme/tiny-sst2';
const OUT_DIR = join(TEST_OUTPUT_DIR, 'deploy', 'hub-download');

interface Hub {
  server: Server;
  endpoint: string;
  requests: string[];
}

function startHub(missing: string[] = []): Promise<Hub> {
  const requests: string[] = [];
  const server = createServer((request, response) => {
    requests.push(request.url ?? '');
    const match = /^\/acme\/tiny-sst2\/resolve\/[^/]+\/(.+)$/.exec(request.url ?? '');
    const file = match?.[1] === 'onnx/model_quantized.onnx' ? 'onnx/model.onnx' : match?.[1];
    if (!file || missing.includes(match![1])) {
      response.writeHead(404).end('Entry not found');
      return;
    }
    response.writeHead(200).end(readFileSync(join(SOURCE, file)));
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      resolve({ server, endpoint: `http://127.0.0.1:${port}`, requests });
    }),
  );
}

function download(endpoint: string, modelsDir: string, ...extra: string[]) {
  return execFileAsync(process.execPath, [
    '--import',
    'tsx',
    'scripts/download-hub-model.ts',
    '--model-id',
    MODEL_ID,
    '--models-dir',
    modelsDir,
    '--endpoint',
    endpoint,
    ...extra,
  ]);
}

describe('scripts/download-hub-model.ts (the image’s model download)', () => {
  let hub: Hub;

  beforeAll(async () => {
    rmSync(OUT_DIR, { recursive: true, force: true });
    hub = await startHub();
  });
  afterAll(() => new Promise<void>((resolve) => hub.server.close(() => resolve())));

  it('writes the hub files where the service looks for them, and the service loads them offline', async () => {
    const modelsDir = join(OUT_DIR, 'fp32');
    const { stdout } = await download(hub.endpoint, modelsDir, '--revision', 'v1.0');

    const folder = modelFolder(modelsDir, MODEL_ID);
    expect(stdout.trim()).toBe(folder);
    expect(hub.requests.sort()).toEqual(
      ['config.json', 'onnx/model.onnx', 'tokenizer.json', 'tokenizer_config.json'].map(
        (file) => `/${MODEL_ID}/resolve/v1.0/${file}`,
      ),
    );
    expect(readFileSync(join(folder, 'onnx/model.onnx')).equals(readFileSync(join(SOURCE, 'onnx/model.onnx')))).toBe(
      true,
    );

    const t = await startTestApp({ MODEL_DIR: modelsDir, MODEL_ID, MODEL_FALLBACK: 'none' });
    try {
      expect(t.model.requireInfo()).toMatchObject({ id: MODEL_ID, source: 'local' });
      const [prediction] = await t.model.classify(['what a lovely day']);
      expect(prediction.reduce((sum, entry) => sum + entry.score, 0)).toBeCloseTo(1, 6);
    } finally {
      await t.close();
    }
  });

  it('fetches the quantized file for --dtype q8', async () => {
    hub.requests.length = 0;
    const modelsDir = join(OUT_DIR, 'q8');
    await download(hub.endpoint, modelsDir, '--dtype', 'q8');

    expect(hub.requests).toContain(`/${MODEL_ID}/resolve/main/onnx/model_quantized.onnx`);
    expect(hasLocalModel(modelsDir, MODEL_ID, 'q8')).toBe(true);
  });

  it('fails the build step, naming the URL, when a file is missing, and leaves no complete-looking model', async () => {
    const broken = await startHub(['onnx/model.onnx']);
    const modelsDir = join(OUT_DIR, 'missing');
    try {
      const failure = download(broken.endpoint, modelsDir);
      await expect(failure).rejects.toMatchObject({ code: 1 });
      await expect(failure).rejects.toHaveProperty('stderr', expect.stringContaining('onnx/model.onnx answered 404'));
      expect(hasLocalModel(modelsDir, MODEL_ID, 'fp32')).toBe(false);
    } finally {
      await new Promise<void>((resolve) => broken.server.close(() => resolve()));
    }
  });
});
