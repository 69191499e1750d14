import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { AutoModelForSequenceClassification, AutoTokenizer, env } from '@huggingface/transformers';
import * as ort from 'onnxruntime-node';
import { BASELINE_PRESETS, distilBertParameterCount } from '../../src/baseline-model/baseline-presets.js';
import { loadBertUncasedVocabulary } from '../../src/baseline-model/bert-vocabulary.js';
import {
  quantizeAsymmetricUint8,
  quantizeSymmetricInt8,
  roundHalfToEven,
} from '../../src/baseline-model/linear-quantization.js';
import { decodeOnnxModel, OnnxDataType, type OnnxGraph } from '../../src/baseline-model/onnx-proto.js';
import { baselineModelId, writeBaselineModel } from '../../src/baseline-model/write-baseline-model.js';

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

const elementCount = (dims: number[]) => dims.reduce((product, size) => product * size, 1);

const int64Batch = (rows: number[][]) =>
  new ort.Tensor('int64', BigInt64Array.from(rows.flat(), BigInt), [rows.length, rows[0].length]);

/** Logits of one unpadded token sequence, straight from onnxruntime-node. */
async function runLogits(session: ort.InferenceSession, ids: number[]): Promise<number[]> {
  const { logits } = await session.run({
    input_ids: int64Batch([ids]),
    attention_mask: int64Batch([ids.map(() => 1)]),
  });
  return Array.from(logits.data as Float32Array);
}

/**
 * Checks that a decoded model_quantized.onnx has the op structure ONNX Runtime's dynamic
 * quantization produces for DistilBERT: each of the 6 weight MatMuls per layer plus the two head
 * MatMuls is DynamicQuantizeLinear → MatMulInteger (uint8 × dense int8, zero point 0) → Cast →
 * Mul by the product of both scales, and the embedding tables are uint8 behind DequantizeLinear.
 */
function expectDynamicQuantization(graph: OnnxGraph, layers: number): void {
  const initializers = new Map(graph.initializer.map((tensor) => [tensor.name, tensor]));
  const producer = new Map(graph.node.flatMap((node) => node.output.map((output, index) => [output, { node, index }])));
  const consumers = (name: string) => graph.node.filter((node) => node.input.includes(name));
  const ops = (type: string) => graph.node.filter((node) => node.op_type === type);

  const integerMatMuls = ops('MatMulInteger');
  expect(integerMatMuls).toHaveLength(6 * layers + 2);
  // Q, K and V read the same hidden state: it is quantized once; so is each other MatMul input.
  expect(ops('DynamicQuantizeLinear')).toHaveLength(4 * layers + 2);
  for (const matMul of integerMatMuls) {
    const [a, b, aZeroPoint, bZeroPoint] = matMul.input;
    expect(producer.get(a)).toMatchObject({ node: { op_type: 'DynamicQuantizeLinear' }, index: 0 });
    expect(producer.get(aZeroPoint)).toMatchObject({ node: { op_type: 'DynamicQuantizeLinear' }, index: 2 });
    const weight = initializers.get(b);
    expect(weight?.data_type).toBe(OnnxDataType.INT8);
    expect(weight?.dims).toHaveLength(2);
    expect(weight?.raw_data.byteLength).toBe(elementCount(weight?.dims ?? []));
    expect(initializers.get(bZeroPoint)).toMatchObject({ data_type: OnnxDataType.INT8, dims: [] });
    expect(Array.from(initializers.get(bZeroPoint)?.raw_data ?? [])).toEqual([0]);

    const [cast] = consumers(matMul.output[0]);
    expect(cast.op_type).toBe('Cast');
    expect(cast.attribute).toEqual([expect.objectContaining({ name: 'to', i: OnnxDataType.FLOAT })]);
    const [rescale] = consumers(cast.output[0]);
    expect(rescale.op_type).toBe('Mul');
    const scales = producer.get(rescale.input[1])?.node;
    expect(scales?.op_type).toBe('Mul');
    expect(producer.get(scales?.input[0] ?? '')).toMatchObject({
      node: { op_type: 'DynamicQuantizeLinear' },
      index: 1,
    });
    expect(initializers.get(scales?.input[1] ?? '')).toMatchObject({ data_type: OnnxDataType.FLOAT, dims: [] });
  }
  // What stays float MatMul multiplies two activations (attention scores and context).
  const floatMatMuls = ops('MatMul');
  expect(floatMatMuls).toHaveLength(2 * layers);
  floatMatMuls.forEach((node) => node.input.forEach((input) => expect(initializers.has(input)).toBe(false)));
  expect(graph.initializer.filter((t) => t.data_type === OnnxDataType.FLOAT && t.dims.length === 2)).toEqual([]);

  const tables = ops('Gather').filter((node) => initializers.has(node.input[0]));
  expect(tables).toHaveLength(2);
  for (const gather of tables) {
    expect(initializers.get(gather.input[0])?.data_type).toBe(OnnxDataType.UINT8);
    expect(consumers(gather.output[0]).map((node) => node.op_type)).toEqual(['DequantizeLinear']);
  }
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
      [
        'README.md',
        'config.json',
        'onnx/model.onnx',
        'onnx/model_quantized.onnx',
        'tokenizer.json',
        'tokenizer_config.json',
      ].sort(),
    );
    const config = JSON.parse(await readFile(join(modelDir, 'config.json'), 'utf8'));
    expect(config).toMatchObject({
      model_type: 'distilbert',
      architectures: ['DistilBertForSequenceClassification'],
      id2label: { 0: 'NEGATIVE', 1: 'POSITIVE' },
      baseline: { trained: false },
    });
  });

  it('is byte-for-byte identical when generated again, fp32 and q8 files alike', async () => {
    const { dir: again } = await writeBaselineModel({ preset: 'tiny', modelsDir: await tempModelsDir() });
    const files = await listFiles(modelDir);
    expect(files).toEqual(expect.arrayContaining(['onnx/model.onnx', 'onnx/model_quantized.onnx']));
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

  describe('q8 file (onnx/model_quantized.onnx)', () => {
    const sentences = { love: [101, 1045, 2293, 2017, 102], hate: [101, 1045, 5223, 2017, 102] };
    let fp32: ort.InferenceSession;
    let q8: ort.InferenceSession;

    beforeAll(async () => {
      [fp32, q8] = await Promise.all(
        ['model.onnx', 'model_quantized.onnx'].map((file) => ort.InferenceSession.create(join(modelDir, 'onnx', file))),
      );
    });

    it('is the fp32 graph after dynamic quantization: DynamicQuantizeLinear, MatMulInteger, int8 weights', async () => {
      const [original, quantized] = await Promise.all(
        ['model.onnx', 'model_quantized.onnx'].map(async (file) =>
          decodeOnnxModel(await readFile(join(modelDir, 'onnx', file))),
        ),
      );
      expectDynamicQuantization(quantized.graph, BASELINE_PRESETS.tiny.n_layers);
      expect(quantized.opset_import).toEqual(original.opset_import);
      expect(quantized.graph.input).toEqual(original.graph.input);
      expect(quantized.graph.output).toEqual(original.graph.output);
      // LayerNorm, Softmax and GELU are untouched.
      const untouched = ['LayerNormalization', 'Softmax', 'Erf'];
      const count = (graph: OnnxGraph, type: string) => graph.node.filter((node) => node.op_type === type).length;
      untouched.forEach((type) => expect(count(quantized.graph, type)).toBe(count(original.graph, type)));
    });

    it('runs on the fused integer kernels ONNX Runtime gives a trained quantized model', async () => {
      // The all-zero constructed weights must not let the optimizer drop or merge their rescaling,
      // or their MatMuls would take the slower unfused path and the q8 cost would be off.
      const optimizedModelFilePath = join(modelsDir, 'model_quantized.optimized.onnx');
      await ort.InferenceSession.create(join(modelDir, 'onnx', 'model_quantized.onnx'), {
        graphOptimizationLevel: 'extended',
        optimizedModelFilePath,
      });
      const { graph } = decodeOnnxModel(await readFile(optimizedModelFilePath));
      const count = (type: string) => graph.node.filter((node) => node.op_type === type).length;
      expect(count('MatMulInteger')).toBe(0);
      expect(count('MatMulIntegerToFloat') + count('DynamicQuantizeMatMul')).toBe(
        6 * BASELINE_PRESETS.tiny.n_layers + 2,
      );
    });

    it('loads in onnxruntime-node with the inputs and outputs of the fp32 file', () => {
      expect(q8.inputNames).toEqual(fp32.inputNames);
      expect(q8.outputNames).toEqual(fp32.outputNames);
    });

    it('scores "I love you" POSITIVE and "I hate you" NEGATIVE, close to the fp32 scores', async () => {
      const scores = async (session: ort.InferenceSession, ids: number[]) => softmax(await runLogits(session, ids));
      for (const [sentence, ids] of Object.entries(sentences)) {
        const [exact, quantized] = await Promise.all([scores(fp32, ids), scores(q8, ids)]);
        const error = Math.max(...quantized.map((p, label) => Math.abs(p - exact[label])));
        expect({ sentence, closeToFp32: error < 0.1 }).toEqual({ sentence, closeToFp32: true });
      }
      const [negativeForLove, positiveForLove] = await scores(q8, sentences.love);
      expect(positiveForLove).toBeGreaterThan(negativeForLove);
      const [negativeForHate, positiveForHate] = await scores(q8, sentences.hate);
      expect(negativeForHate).toBeGreaterThan(positiveForHate);
    });

    it('still masks padding out', async () => {
      const batch = [
        [...sentences.love, 0, 0],
        [101, 1045, 5223, 2017, 2205, 2172, 102],
      ];
      const { logits } = await q8.run({
        input_ids: int64Batch(batch),
        attention_mask: int64Batch(batch.map((row) => row.map((id) => (id === 0 ? 0 : 1)))),
      });
      // Activation scales span the whole batch, so a batch neighbour may move the scores slightly.
      const padded = softmax(Array.from(logits.data as Float32Array).slice(0, 2));
      const alone = softmax(await runLogits(q8, sentences.love));
      padded.forEach((p, label) => expect(p).toBeCloseTo(alone[label], 2));
    });
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

    it('loads onnx/model_quantized.onnx for dtype q8', async () => {
      const quantized = await AutoModelForSequenceClassification.from_pretrained(id, { dtype: 'q8' });
      const { logits } = await quantized(tokenizer('I love you'));
      const direct = await runLogits(
        await ort.InferenceSession.create(join(modelDir, 'onnx', 'model_quantized.onnx')),
        tokenizer.encode('I love you'),
      );
      const viaFp32 = Array.from((await model(tokenizer('I love you'))).logits.data as Float32Array);
      const viaQ8 = Array.from(logits.data as Float32Array);
      viaQ8.forEach((value, i) => expect(value).toBeCloseTo(direct[i], 5));
      // …and not the fp32 file, whose logits differ by more than rounding.
      expect(Math.max(...viaQ8.map((value, i) => Math.abs(value - viaFp32[i])))).toBeGreaterThan(1e-3);
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
  let dir: string;

  beforeAll(async () => {
    ({ dir } = await writeBaselineModel({ preset: 'base', modelsDir: await tempModelsDir() }));
  });

  it('has the parameter count of DistilBERT-base SST-2, stored densely', async () => {
    const { graph, opset_import } = decodeOnnxModel(await readFile(join(dir, 'onnx', 'model.onnx')));
    expect(opset_import[0].version).toBeGreaterThanOrEqual(17);

    const elements = graph.initializer.map((tensor) => elementCount(tensor.dims));
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

  it('has a q8 file of about a quarter the size, every parameter still stored', async () => {
    const [fp32Bytes, q8Bytes] = await Promise.all(
      ['model.onnx', 'model_quantized.onnx'].map((file) => readFile(join(dir, 'onnx', file))),
    );
    // One byte per weight instead of four; below a quarter would mean weights went missing.
    expect(q8Bytes.byteLength / fp32Bytes.byteLength).toBeLessThan(0.45);
    expect(q8Bytes.byteLength / fp32Bytes.byteLength).toBeGreaterThan(0.24);

    const fp32 = decodeOnnxModel(fp32Bytes).graph;
    const q8 = decodeOnnxModel(q8Bytes).graph;
    expectDynamicQuantization(q8, BASELINE_PRESETS.base.n_layers);
    const quantizationParameter = (name: string) => name.endsWith('_scale') || name.endsWith('_zero_point');
    const stored = (graph: OnnxGraph) =>
      graph.initializer
        .filter((tensor) => !quantizationParameter(tensor.name))
        .reduce((sum, tensor) => sum + elementCount(tensor.dims), 0);
    expect(stored(q8)).toBe(stored(fp32));
  });

  it('classifies with the q8 file in onnxruntime-node', async () => {
    const session = await ort.InferenceSession.create(join(dir, 'onnx', 'model_quantized.onnx'));
    const [negativeForLove, positiveForLove] = softmax(await runLogits(session, [101, 1045, 2293, 2017, 102]));
    expect(positiveForLove).toBeGreaterThan(negativeForLove);
    const [negativeForHate, positiveForHate] = softmax(await runLogits(session, [101, 1045, 5223, 2017, 102]));
    expect(negativeForHate).toBeGreaterThan(positiveForHate);
  });
});

describe('linear quantization (ONNX Runtime arithmetic)', () => {
  it('rounds halves to even, as numpy does', () => {
    expect([0.5, 1.5, 2.5, 3.5, -1.5, -2.5, 2.4, 2.6, -2.6].map(roundHalfToEven)).toEqual([
      0, 2, 2, 4, -2, -2, 2, 3, -3,
    ]);
  });

  it('quantizes weights to int8 symmetrically over [-127, 127] with zero point 0', () => {
    const { values, scale, zeroPoint } = quantizeSymmetricInt8(Float32Array.of(-127, -2.5, 0.5, 1.5, 3.49, 0, 100));
    expect({ scale, zeroPoint }).toEqual({ scale: 1, zeroPoint: 0 });
    expect(Array.from(values)).toEqual([-127, -2, 0, 2, 3, 0, 100]);
  });

  it('quantizes tables to uint8 over a range that includes 0, which maps to the zero point exactly', () => {
    const { values, scale, zeroPoint } = quantizeAsymmetricUint8(Float32Array.of(-51, 0, 204, 10.5, 11.5));
    expect({ scale, zeroPoint }).toEqual({ scale: 1, zeroPoint: 51 });
    expect(Array.from(values)).toEqual([0, 51, 255, 61, 63]);
    expect(quantizeAsymmetricUint8(Float32Array.of(2, 4)).zeroPoint).toBe(0);
  });

  it('gives an all-zero tensor scale 1, as ONNX Runtime does for an empty range', () => {
    const empty = { scale: 1, zeroPoint: 0, allZero: true };
    expect(quantizeSymmetricInt8(new Float32Array(4))).toEqual({ values: new Int8Array(4), ...empty });
    expect(quantizeAsymmetricUint8(new Float32Array(4))).toEqual({ values: new Uint8Array(4), ...empty });
    expect(quantizeSymmetricInt8(Float32Array.of(0, 1)).allZero).toBe(false);
  });

  it('reconstructs every value within half a step', () => {
    const data = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i * 12.9898) * 3 - 0.7);
    const symmetric = quantizeSymmetricInt8(data);
    const asymmetric = quantizeAsymmetricUint8(data);
    data.forEach((x, i) => {
      expect(Math.abs(symmetric.values[i] * symmetric.scale - x)).toBeLessThanOrEqual(symmetric.scale / 2 + 1e-6);
      const restored = (asymmetric.values[i] - asymmetric.zeroPoint) * asymmetric.scale;
      expect(Math.abs(restored - x)).toBeLessThanOrEqual(asymmetric.scale / 2 + 1e-6);
    });
  });
});
