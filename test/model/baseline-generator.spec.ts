import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { AutoModelForSequenceClassification, AutoTokenizer, env } from '@huggingface/transformers';
import * as ort from 'onnxruntime-node';
import { BASELINE_PRESETS, distilBertParameterCount } from '../../src/model/baseline/baseline-presets.js';
import { loadBertUncasedVocabulary } from '../../src/model/baseline/bert-vocabulary.js';
import { decodeOnnxModel } from '../../src/model/baseline/onnx-proto.js';
import { baselineModelId, writeBaselineModel } from '../../src/model/baseline/write-baseline-model.js';

/** Parameter count of distilbert-base-uncased-finetuned-sst-2-english. */
const DISTILBERT_SST2_PARAMETERS = 66_955_010;

const tempDirs: string[] = [];
async function tempModelsDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'baseline-model-'));
  tempDirs.push(dir);
  return dir;
}

async function listFiles(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(root, join(entry.parentPath, entry.name)))
    .sort();
}

const softmax = (logits: number[]) => {
  const exps = logits.map((x) => Math.exp(x - Math.max(...logits)));
  const total = exps.reduce((a, b) => a + b, 0);
  return exps.map((x) => x / total);
};

afterAll(async () => {
  await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('BERT uncased vocabulary', () => {
  const { tokens } = loadBertUncasedVocabulary();

  it('has the WordPiece ids of bert-base-uncased', () => {
    expect(tokens).toHaveLength(30522);
    expect(tokens.indexOf('love')).toBe(2293);
    expect(tokens.indexOf('hate')).toBe(5223);
    expect(tokens.indexOf('[CLS]')).toBe(101);
    expect(tokens.indexOf('[PAD]')).toBe(0);
    expect(tokens.indexOf('[unused0]')).toBe(1);
    expect(tokens.indexOf('i')).toBe(1045);
    expect(tokens.indexOf('you')).toBe(2017);
  });

  it('marks continuation pieces with ##', () => {
    expect(tokens).toContain('##ing');
    expect(tokens.filter((token) => token.startsWith('##')).length).toBeGreaterThan(5000);
  });
});

describe('tiny baseline model', () => {
  let modelsDir: string;
  let modelDir: string;
  const id = baselineModelId('tiny');

  beforeAll(async () => {
    modelsDir = await tempModelsDir();
    ({ dir: modelDir } = await writeBaselineModel({ preset: 'tiny', modelsDir }));
  });

  it('is written to <modelsDir>/<id> with the files of a hub model folder', async () => {
    expect(id).toBe('sentiment-api/distilbert-sst2-afinn-baseline-tiny');
    expect(modelDir).toBe(join(modelsDir, 'sentiment-api', 'distilbert-sst2-afinn-baseline-tiny'));
    expect(await listFiles(modelDir)).toEqual(
      ['README.md', 'config.json', 'onnx/model.onnx', 'tokenizer.json', 'tokenizer_config.json'].sort(),
    );
    const config = JSON.parse(await readFile(join(modelDir, 'config.json'), 'utf8'));
    expect(config).toMatchObject({
      model_type: 'distilbert',
      architectures: ['DistilBertForSequenceClassification'],
      id2label: { 0: 'NEGATIVE', 1: 'POSITIVE' },
      baseline: { trained: false },
    });
  });

  it('is byte-for-byte identical when generated again', async () => {
    const { dir: again } = await writeBaselineModel({ preset: 'tiny', modelsDir: await tempModelsDir() });
    const files = await listFiles(modelDir);
    expect(await listFiles(again)).toEqual(files);
    for (const file of files) {
      const [first, second] = await Promise.all([readFile(join(modelDir, file)), readFile(join(again, file))]);
      expect({ file, equal: first.equals(second) }).toEqual({ file, equal: true });
    }
  });

  it('runs in onnxruntime-node on a padded 2×N int64 batch', async () => {
    const session = await ort.InferenceSession.create(join(modelDir, 'onnx', 'model.onnx'));
    expect(session.inputNames).toEqual(['input_ids', 'attention_mask']);
    expect(session.outputNames).toEqual(['logits']);

    const batch = [
      [101, 1045, 2293, 2017, 102, 0, 0],
      [101, 1045, 5223, 2017, 2205, 2172, 102],
    ];
    const tensor = (rows: number[][]) =>
      new ort.Tensor('int64', BigInt64Array.from(rows.flat(), BigInt), [rows.length, rows[0].length]);
    const { logits } = await session.run({
      input_ids: tensor(batch),
      attention_mask: tensor(batch.map((row) => row.map((id) => (id === 0 ? 0 : 1)))),
    });
    expect(logits.dims).toEqual([2, 2]);
    expect(logits.type).toBe('float32');

    // Padding is masked out: the padded row scores like the same text without padding.
    const alone = await session.run({
      input_ids: tensor([batch[0].slice(0, 5)]),
      attention_mask: tensor([[1, 1, 1, 1, 1]]),
    });
    const padded = Array.from(logits.data as Float32Array).slice(0, 2);
    Array.from(alone.logits.data as Float32Array).forEach((value, i) => expect(padded[i]).toBeCloseTo(value, 4));
  });

  describe('through transformers.js', () => {
    let tokenizer: Awaited<ReturnType<typeof AutoTokenizer.from_pretrained>>;
    let model: Awaited<ReturnType<typeof AutoModelForSequenceClassification.from_pretrained>>;

    const classify = async (text: string) => {
      const { logits } = await model(tokenizer(text, { truncation: true }));
      const probabilities = softmax(Array.from(logits.data as Float32Array));
      // transformers.js passes config.json through but does not type the classification fields.
      const labels = (model.config as unknown as { id2label: Record<string, string> }).id2label;
      return Object.fromEntries(probabilities.map((p, i) => [labels[i], p]));
    };

    beforeAll(async () => {
      env.localModelPath = modelsDir;
      env.allowRemoteModels = false;
      tokenizer = await AutoTokenizer.from_pretrained(id);
      model = await AutoModelForSequenceClassification.from_pretrained(id, { dtype: 'fp32' });
    });

    it('tokenizes like bert-base-uncased', () => {
      const { tokens } = loadBertUncasedVocabulary();
      const expected = ['[CLS]', 'i', 'love', 'you', '[SEP]'].map((token) => tokens.indexOf(token));
      expect(expected).toEqual([101, 1045, 2293, 2017, 102]);
      expect(tokenizer.encode('I love you')).toEqual(expected);
    });

    it('scores "I love you" POSITIVE (≈0.99) and "I hate you" NEGATIVE', async () => {
      const love = await classify('I love you');
      expect(love.POSITIVE).toBeGreaterThan(0.95);
      expect(love.POSITIVE).toBeLessThan(0.999);
      const hate = await classify('I hate you');
      expect(hate.NEGATIVE).toBeGreaterThan(0.5);
    });

    it('truncates a 3,000-word text to 512 tokens', async () => {
      const text = Array.from({ length: 3000 }, (_, i) => ['what', 'a', 'great', 'day'][i % 4]).join(' ');
      const inputs = tokenizer(text, { truncation: true });
      expect(inputs.input_ids.dims).toEqual([1, 512]);
      const scores = await classify(text);
      expect(scores.POSITIVE).toBeGreaterThan(0.5);
    });
  });
});

describe('base baseline model', () => {
  it('has the parameter count of DistilBERT-base SST-2, stored densely', async () => {
    const { dir } = await writeBaselineModel({ preset: 'base', modelsDir: await tempModelsDir() });
    const { graph, opset_import } = decodeOnnxModel(await readFile(join(dir, 'onnx', 'model.onnx')));
    expect(opset_import[0].version).toBeGreaterThanOrEqual(17);

    const elements = graph.initializer.map((tensor) => tensor.dims.reduce((product, size) => product * size, 1));
    const parameters = elements.reduce((a, b) => a + b, 0);
    expect(Math.abs(parameters / DISTILBERT_SST2_PARAMETERS - 1)).toBeLessThan(0.02);
    expect(distilBertParameterCount(BASELINE_PRESETS.base)).toBe(DISTILBERT_SST2_PARAMETERS);
    // Every weight is materialised, zeros included: 4 bytes per float32, 8 per int64 constant.
    graph.initializer.forEach((tensor, i) =>
      expect(tensor.raw_data.byteLength).toBe(elements[i] * (tensor.data_type === 1 ? 4 : 8)),
    );
    expect(graph.node.filter((node) => node.op_type === 'LayerNormalization')).toHaveLength(13);
    expect(graph.node.filter((node) => node.op_type === 'Softmax')).toHaveLength(6);
  });
});
