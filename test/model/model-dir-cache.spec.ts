import { AutoModelForSequenceClassification, env as transformersEnv } from '@huggingface/transformers';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { baselineModelId } from '../../src/baseline-model/write-baseline-model.js';
import { ModelDirCache } from '../../src/model/model-dir-cache.js';
import { allowDownloads, useModelDir } from '../../src/model/transformers-env.js';
import { TEST_MODELS_DIR, TEST_OUTPUT_DIR } from '../support/paths.js';

const HOST = 'http://hub.test/';
let modelDir: string;
let cache: ModelDirCache;

beforeEach(async () => {
  await mkdir(TEST_OUTPUT_DIR, { recursive: true });
  modelDir = await mkdtemp(join(TEST_OUTPUT_DIR, 'model-dir-cache-'));
  cache = new ModelDirCache(modelDir, () => HOST);
  await mkdir(join(modelDir, 'org', 'model', 'onnx'), { recursive: true });
  await writeFile(join(modelDir, 'org', 'model', 'config.json'), '{"a":1}');
  await writeFile(join(modelDir, 'org', 'model', 'onnx', 'model.onnx'), 'weights');
});

afterEach(() => rm(modelDir, { recursive: true, force: true }));

describe('ModelDirCache (transformers.js file cache for MODEL_DIR)', () => {
  it('answers an ONNX file with its path, by local path or hub URL, without reading it', async () => {
    const onnx = join(modelDir, 'org', 'model', 'onnx', 'model.onnx');
    await expect(cache.match(onnx)).resolves.toBe(onnx);
    await expect(cache.match(`${HOST}org/model/resolve/main/onnx/model.onnx`)).resolves.toBe(onnx);
  });

  it('answers any other file with its contents', async () => {
    const answer = await cache.match(`${HOST}org/model/resolve/v1.0/config.json`);
    expect(answer).toBeInstanceOf(Response);
    await expect((answer as Response).json()).resolves.toEqual({ a: 1 });
  });

  it('has nothing for a missing file, a path outside MODEL_DIR or another host', async () => {
    await expect(cache.match(join(modelDir, 'org', 'model', 'tokenizer.json'))).resolves.toBeUndefined();
    await expect(cache.match(join(modelDir, '..', 'elsewhere', 'config.json'))).resolves.toBeUndefined();
    await expect(cache.match('http://other.test/org/model/resolve/main/config.json')).resolves.toBeUndefined();
  });

  it('files a download under MODEL_DIR/<model>/<file>, leaving no partial file', async () => {
    await cache.put(`${HOST}org/other/resolve/main/onnx/model.onnx`, new Response('downloaded'));
    const folder = join(modelDir, 'org', 'other', 'onnx');
    await expect(readFile(join(folder, 'model.onnx'), 'utf8')).resolves.toBe('downloaded');
    expect(await readdir(folder)).toEqual(['model.onnx']);
  });

  it('leaves no file behind when a download breaks off', async () => {
    const broken = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('half a'));
        controller.error(new Error('connection reset'));
      },
    });
    await expect(cache.put(`${HOST}org/other/resolve/main/onnx/model.onnx`, new Response(broken))).rejects.toThrow(
      'connection reset',
    );
    expect(await readdir(join(modelDir, 'org', 'other', 'onnx'))).toEqual([]);
  });

  it('is what transformers.js loads the model through: the ONNX file by path, so ONNX Runtime alone reads it', async () => {
    const id = baselineModelId('tiny');
    const onnx = join(TEST_MODELS_DIR, ...id.split('/'), 'onnx', 'model.onnx');
    expect(existsSync(onnx)).toBe(true);
    useModelDir(TEST_MODELS_DIR);
    allowDownloads(false);
    const answers = new Map<string, unknown>();
    const used = transformersEnv.customCache!;
    const match = used.match.bind(used);
    used.match = async (key: string) => {
      const answer = await match(key);
      answers.set(key, answer);
      return answer;
    };
    const model = await AutoModelForSequenceClassification.from_pretrained(id, {
      dtype: 'fp32',
      local_files_only: true,
    });
    try {
      expect(answers.get(onnx)).toBe(onnx);
    } finally {
      await model.dispose();
    }
  });
});
