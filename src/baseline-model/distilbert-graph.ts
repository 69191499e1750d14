import type { DistilBertDims } from './baseline-presets.js';
import {
  OnnxAttributeType,
  OnnxDataType,
  type OnnxAttribute,
  type OnnxModel,
  type OnnxNode,
  type OnnxTensor,
  type OnnxValueInfo,
} from './onnx-proto.js';

/** DistilBERT's LayerNorm epsilon. */
export const LAYER_NORM_EPSILON = 1e-12;
// LayerNormalization became a standard op in opset 17, whose matching IR version is 8.
export const ONNX_OPSET = 17;
export const ONNX_IR_VERSION = 8;

/** A dense layer stored the way a MatMul consumes it: `weight` is [in, out], row-major. */
export interface LinearWeights {
  weight: Float32Array;
  bias: Float32Array;
}

export interface LayerNormWeights {
  scale: Float32Array;
  bias: Float32Array;
}

export interface TransformerBlockWeights {
  query: LinearWeights;
  key: LinearWeights;
  value: LinearWeights;
  output: LinearWeights;
  attentionLayerNorm: LayerNormWeights;
  ffnIn: LinearWeights;
  ffnOut: LinearWeights;
  outputLayerNorm: LayerNormWeights;
}

/** Every parameter of DistilBertForSequenceClassification. */
export interface DistilBertWeights {
  /** [vocab_size, dim] */
  wordEmbeddings: Float32Array;
  /** [max_position_embeddings, dim] */
  positionEmbeddings: Float32Array;
  embeddingsLayerNorm: LayerNormWeights;
  blocks: TransformerBlockWeights[];
  preClassifier: LinearWeights;
  classifier: LinearWeights;
}

export interface DistilBertModelSpec {
  dims: DistilBertDims;
  numLabels: number;
  weights: DistilBertWeights;
  producer: { name: string; version: string };
  docString: string;
  metadata: Record<string, string>;
}

const IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** ONNX `raw_data` is little-endian; on such hosts the typed array's own bytes can be used. */
function littleEndianBytes(values: Float32Array | BigInt64Array): Uint8Array {
  if (IS_LITTLE_ENDIAN) return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const bytes = new Uint8Array(values.byteLength);
  const view = new DataView(bytes.buffer);
  values.forEach((value: number | bigint, index: number) => {
    if (typeof value === 'bigint') view.setBigInt64(index * 8, value, true);
    else view.setFloat32(index * 4, value, true);
  });
  return bytes;
}

const intAttribute = (name: string, i: number): OnnxAttribute => ({ name, type: OnnxAttributeType.INT, i });
const intsAttribute = (name: string, ints: number[]): OnnxAttribute => ({ name, type: OnnxAttributeType.INTS, ints });
const floatAttribute = (name: string, f: number): OnnxAttribute => ({ name, type: OnnxAttributeType.FLOAT, f });

/** Collects nodes and initializers; node outputs follow the `<node name>_output_0` export convention. */
class GraphBuilder {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxTensor[] = [];
  private readonly names = new Set<string>();

  tensor(name: string, dims: number[], values: Float32Array | BigInt64Array): string {
    const expected = dims.reduce((product, size) => product * size, 1);
    if (values.length !== expected) {
      throw new Error(`Initializer ${name}: ${values.length} values for shape [${dims.join(', ')}]`);
    }
    this.claim(name);
    const data_type = values instanceof Float32Array ? OnnxDataType.FLOAT : OnnxDataType.INT64;
    this.initializers.push({ name, dims, data_type, raw_data: littleEndianBytes(values) });
    return name;
  }

  floatScalar(name: string, value: number): string {
    return this.tensor(name, [], Float32Array.of(value));
  }

  int64s(name: string, values: number[], dims = [values.length]): string {
    return this.tensor(name, dims, BigInt64Array.from(values, BigInt));
  }

  node(name: string, opType: string, input: string[], attribute: OnnxAttribute[] = [], output = `${name}_output_0`) {
    this.claim(name);
    this.claim(output);
    this.nodes.push({ name, op_type: opType, input, output: [output], attribute });
    return output;
  }

  private claim(name: string): void {
    if (this.names.has(name)) throw new Error(`Duplicate graph name ${name}`);
    this.names.add(name);
  }
}

function tensorInfo(name: string, elemType: OnnxTensor['data_type'], dims: (string | number)[]): OnnxValueInfo {
  const dim = dims.map((d) => (typeof d === 'string' ? { dim_param: d } : { dim_value: d }));
  return { name, type: { tensor_type: { elem_type: elemType, shape: { dim } } } };
}

/**
 * Builds the ONNX graph of DistilBertForSequenceClassification with the op structure of a
 * transformers → ONNX export (opset 17 LayerNormalization, erf-form GELU, additive attention
 * mask), the hub's input/output names and dynamic batch/sequence dimensions.
 */
export function buildDistilBertOnnxModel(spec: DistilBertModelSpec): OnnxModel {
  const { dims, weights, numLabels } = spec;
  const { dim, hidden_dim, n_heads, n_layers, max_position_embeddings, vocab_size } = dims;
  const headDim = dim / n_heads;
  if (!Number.isInteger(headDim)) throw new Error(`dim ${dim} is not divisible by n_heads ${n_heads}`);
  if (weights.blocks.length !== n_layers) throw new Error(`${weights.blocks.length} blocks for n_layers ${n_layers}`);

  const g = new GraphBuilder();
  const linear = (path: string, param: string, x: string, w: LinearWeights, inputs: number, outputs: number) => {
    const product = g.node(`${path}/MatMul`, 'MatMul', [x, g.tensor(`${param}.weight`, [inputs, outputs], w.weight)]);
    return g.node(`${path}/Add`, 'Add', [g.tensor(`${param}.bias`, [outputs], w.bias), product]);
  };
  const layerNorm = (path: string, param: string, x: string, w: LayerNormWeights) =>
    g.node(
      `${path}/LayerNormalization`,
      'LayerNormalization',
      [x, g.tensor(`${param}.weight`, [dim], w.scale), g.tensor(`${param}.bias`, [dim], w.bias)],
      [intAttribute('axis', -1), floatAttribute('epsilon', LAYER_NORM_EPSILON)],
    );

  const one = g.floatScalar('/Constant_one', 1);
  const half = g.floatScalar('/Constant_half', 0.5);
  const sqrtTwo = g.floatScalar('/Constant_sqrt_two', Math.SQRT2);
  const sqrtHeadDim = g.floatScalar('/Constant_sqrt_head_dim', Math.sqrt(headDim));
  // Masked keys get the most negative float32, as transformers' additive attention mask does.
  const maskFill = g.floatScalar('/Constant_mask_fill', -3.4028234663852886e38);
  const splitHeads = g.int64s('/Constant_split_heads_shape', [0, 0, n_heads, headDim]);
  const mergeHeads = g.int64s('/Constant_merge_heads_shape', [0, 0, dim]);

  // Embeddings: word + position, positions 0..sequence_length-1 from the input's shape.
  const emb = '/distilbert/embeddings';
  const inputShape = g.node(`${emb}/Shape`, 'Shape', ['input_ids']);
  const sequenceLength = g.node(
    `${emb}/Gather`,
    'Gather',
    [inputShape, g.int64s(`${emb}/Constant_1`, [1], [])],
    [intAttribute('axis', 0)],
  );
  const positionIds = g.node(`${emb}/Range`, 'Range', [
    g.int64s(`${emb}/Constant_0`, [0], []),
    sequenceLength,
    g.int64s(`${emb}/Constant_step`, [1], []),
  ]);
  const wordVectors = g.node(`${emb}/word_embeddings/Gather`, 'Gather', [
    g.tensor('distilbert.embeddings.word_embeddings.weight', [vocab_size, dim], weights.wordEmbeddings),
    'input_ids',
  ]);
  const positionVectors = g.node(`${emb}/position_embeddings/Gather`, 'Gather', [
    g.tensor(
      'distilbert.embeddings.position_embeddings.weight',
      [max_position_embeddings, dim],
      weights.positionEmbeddings,
    ),
    positionIds,
  ]);
  let hidden = layerNorm(
    `${emb}/LayerNorm`,
    'distilbert.embeddings.LayerNorm',
    g.node(`${emb}/Add`, 'Add', [wordVectors, positionVectors]),
    weights.embeddingsLayerNorm,
  );

  // Additive mask [batch, 1, 1, sequence]: 0 for real tokens, mask_fill for padding.
  const mask = '/distilbert/transformer/mask';
  const keepMask = g.node(
    `${mask}/Cast`,
    'Cast',
    [g.node(`${mask}/Unsqueeze`, 'Unsqueeze', ['attention_mask', g.int64s(`${mask}/Constant_axes`, [1, 2])])],
    [intAttribute('to', OnnxDataType.FLOAT)],
  );
  const additiveMask = g.node(`${mask}/Mul`, 'Mul', [g.node(`${mask}/Sub`, 'Sub', [one, keepMask]), maskFill]);

  weights.blocks.forEach((block, index) => {
    const path = `/distilbert/transformer/layer.${index}`;
    const param = `distilbert.transformer.layer.${index}`;
    const attention = (name: string, w: LinearWeights, perm: number[]) =>
      g.node(
        `${path}/attention/${name}/Transpose`,
        'Transpose',
        [
          g.node(`${path}/attention/${name}/Reshape`, 'Reshape', [
            linear(`${path}/attention/${name}`, `${param}.attention.${name}`, hidden, w, dim, dim),
            splitHeads,
          ]),
        ],
        [intsAttribute('perm', perm)],
      );

    const query = g.node(`${path}/attention/Div`, 'Div', [attention('q_lin', block.query, [0, 2, 1, 3]), sqrtHeadDim]);
    const keyT = attention('k_lin', block.key, [0, 2, 3, 1]);
    const value = attention('v_lin', block.value, [0, 2, 1, 3]);
    const scores = g.node(`${path}/attention/Add`, 'Add', [
      g.node(`${path}/attention/MatMul`, 'MatMul', [query, keyT]),
      additiveMask,
    ]);
    const probabilities = g.node(`${path}/attention/Softmax`, 'Softmax', [scores], [intAttribute('axis', -1)]);
    const context = g.node(`${path}/attention/Reshape`, 'Reshape', [
      g.node(
        `${path}/attention/Transpose`,
        'Transpose',
        [g.node(`${path}/attention/MatMul_1`, 'MatMul', [probabilities, value])],
        [intsAttribute('perm', [0, 2, 1, 3])],
      ),
      mergeHeads,
    ]);
    const attended = linear(`${path}/attention/out_lin`, `${param}.attention.out_lin`, context, block.output, dim, dim);
    hidden = layerNorm(
      `${path}/sa_layer_norm`,
      `${param}.sa_layer_norm`,
      g.node(`${path}/Add`, 'Add', [attended, hidden]),
      block.attentionLayerNorm,
    );

    // GELU in the exact erf form: x * 0.5 * (1 + erf(x / sqrt(2))).
    const ffn = `${path}/ffn`;
    const inner = linear(`${ffn}/lin1`, `${param}.ffn.lin1`, hidden, block.ffnIn, dim, hidden_dim);
    const erf = g.node(`${ffn}/activation/Erf`, 'Erf', [g.node(`${ffn}/activation/Div`, 'Div', [inner, sqrtTwo])]);
    const gelu = g.node(`${ffn}/activation/Mul_1`, 'Mul', [
      g.node(`${ffn}/activation/Mul`, 'Mul', [inner, g.node(`${ffn}/activation/Add`, 'Add', [erf, one])]),
      half,
    ]);
    const projected = linear(`${ffn}/lin2`, `${param}.ffn.lin2`, gelu, block.ffnOut, hidden_dim, dim);
    hidden = layerNorm(
      `${path}/output_layer_norm`,
      `${param}.output_layer_norm`,
      g.node(`${path}/Add_1`, 'Add', [projected, hidden]),
      block.outputLayerNorm,
    );
  });

  // Classification head on the [CLS] position.
  const pooled = g.node(
    '/Gather',
    'Gather',
    [hidden, g.int64s('/Constant_cls_position', [0], [])],
    [intAttribute('axis', 1)],
  );
  const preClassified = g.node('/Relu', 'Relu', [
    linear('/pre_classifier', 'pre_classifier', pooled, weights.preClassifier, dim, dim),
  ]);
  const classifierProduct = g.node('/classifier/MatMul', 'MatMul', [
    preClassified,
    g.tensor('classifier.weight', [dim, numLabels], weights.classifier.weight),
  ]);
  g.node(
    '/classifier/Add',
    'Add',
    [g.tensor('classifier.bias', [numLabels], weights.classifier.bias), classifierProduct],
    [],
    'logits',
  );

  return {
    ir_version: ONNX_IR_VERSION,
    opset_import: [{ domain: '', version: ONNX_OPSET }],
    producer_name: spec.producer.name,
    producer_version: spec.producer.version,
    doc_string: spec.docString,
    graph: {
      name: 'main_graph',
      doc_string: spec.docString,
      node: g.nodes,
      initializer: g.initializers,
      input: [
        tensorInfo('input_ids', OnnxDataType.INT64, ['batch_size', 'sequence_length']),
        tensorInfo('attention_mask', OnnxDataType.INT64, ['batch_size', 'sequence_length']),
      ],
      output: [tensorInfo('logits', OnnxDataType.FLOAT, ['batch_size', numLabels])],
    },
    metadata_props: Object.entries(spec.metadata).map(([key, value]) => ({ key, value })),
  };
}
