import { quantizeAsymmetricUint8, quantizeSymmetricInt8, type QuantizedTensor } from './linear-quantization.js';
import { OnnxAttributeType, OnnxDataType, type OnnxModel, type OnnxNode, type OnnxTensor } from './onnx-proto.js';

/** What the `quantization` metadata entry of a quantized model says. */
export const DYNAMIC_QUANTIZATION_SUMMARY =
  'dynamic (ONNX Runtime quantize_dynamic defaults): MatMul weights int8 symmetric per-tensor with ' +
  'DynamicQuantizeLinear (uint8) activations and MatMulInteger; Gather tables uint8 with DequantizeLinear';

/** A tensor stored quantized: its uint8/int8 values, scale and zero point, by graph name. */
interface QuantizedValue {
  quantized: string;
  scale: string;
  zeroPoint: string;
}

/** Weights take ONNX Runtime's default QInt8; tables feed a Gather, quantized as activations (QUInt8). */
const QUANTIZERS = { int8: quantizeSymmetricInt8, uint8: quantizeAsymmetricUint8 } as const;

/**
 * Scale of the n-th all-zero weight matrix. ONNX Runtime's quantizer would give each scale 1, but
 * at load time its optimizer drops a Mul by 1 (NoopElimination) and merges rescaling Muls whose
 * scales are equal (ConstantSharing + CSE, e.g. Q, K and V of one layer), and either stops the
 * MatMulIntegerToFloat fusion that a trained model's weights (never all zero, each with its own
 * scale) get. Distinct scales keep the constructed model on the kernels a trained one runs; the
 * quantized values are 0 whatever the scale. (1/127 is the identity matrices' scale.)
 */
const zeroWeightScale = (n: number) => Math.fround(1 / (128 + n));

const IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function floatValues(tensor: OnnxTensor): Float32Array {
  const { raw_data: bytes } = tensor;
  if (IS_LITTLE_ENDIAN && bytes.byteOffset % 4 === 0) {
    return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Float32Array.from({ length: bytes.byteLength / 4 }, (_, i) => view.getFloat32(i * 4, true));
}

function node(name: string, opType: string, input: string[], output: string[], to?: number): OnnxNode {
  const attribute = to === undefined ? [] : [{ name: 'to', type: OnnxAttributeType.INT, i: to }];
  return { name, op_type: opType, input, output, attribute };
}

/**
 * Rewrites a float32 model the way ONNX Runtime's `quantize_dynamic(model, weight_type=QInt8)` does
 * with its defaults (per-tensor, no reduced range, MatMulConstBOnly), keeping its tensor and node
 * names, so the result has the op structure and cost of a hub `model_quantized.onnx`:
 * - every MatMul whose B is a float initializer: A → DynamicQuantizeLinear (uint8, once per
 *   activation, shared by Q/K/V), B → int8 symmetric initializer, MatMulInteger → int32, Cast to
 *   float, Mul by (A scale × B scale); the following bias Add stays float;
 * - every Gather from a float initializer (the embedding tables): the table is stored uint8, the
 *   Gather picks quantized rows and a DequantizeLinear restores floats for its consumers;
 * - everything else (LayerNorm, Softmax, GELU, activation × activation MatMuls) stays float.
 * Every element stays stored, zeros included: the integer GEMMs cost what the real model's do.
 */
export function quantizeDynamic(model: OnnxModel): OnnxModel {
  const { graph } = model;
  const floatInitializers = new Map(
    graph.initializer.filter((tensor) => tensor.data_type === OnnxDataType.FLOAT).map((t) => [t.name, t]),
  );
  const replacedWeights = new Set<string>();
  const quantizedInitializers: OnnxTensor[] = [];
  const activations = new Map<string, QuantizedValue>();
  const gatheredRows = new Map<string, QuantizedValue>();
  const nodes: OnnxNode[] = [];
  // The constructed weights reuse one zero and one identity buffer everywhere; quantize each view once.
  const quantizedViews = new Map<ArrayBufferLike, Map<string, QuantizedTensor<Int8Array | Uint8Array>>>();
  const quantizeOnce = (tensor: OnnxTensor, type: keyof typeof QUANTIZERS) => {
    const { buffer, byteOffset, byteLength } = tensor.raw_data;
    const views = quantizedViews.get(buffer) ?? new Map<string, QuantizedTensor<Int8Array | Uint8Array>>();
    quantizedViews.set(buffer, views);
    const key = `${type}:${byteOffset}:${byteLength}`;
    const quantized = views.get(key) ?? QUANTIZERS[type](floatValues(tensor));
    views.set(key, quantized);
    return quantized;
  };

  let zeroWeights = 0;
  const storeWeight = (tensor: OnnxTensor, quantizedTensor: QuantizedTensor<Int8Array | Uint8Array>) => {
    const { values, zeroPoint, allZero } = quantizedTensor;
    const isWeight = values instanceof Int8Array;
    const scale = isWeight && allZero ? zeroWeightScale(zeroWeights++) : quantizedTensor.scale;
    const dataType = isWeight ? OnnxDataType.INT8 : OnnxDataType.UINT8;
    const zeroPointBytes = isWeight ? Int8Array.of(zeroPoint) : Uint8Array.of(zeroPoint);
    const names: QuantizedValue = {
      quantized: `${tensor.name}_quantized`,
      scale: `${tensor.name}_scale`,
      zeroPoint: `${tensor.name}_zero_point`,
    };
    quantizedInitializers.push(
      { name: names.quantized, dims: tensor.dims, data_type: dataType, raw_data: new Uint8Array(values.buffer) },
      { name: names.scale, dims: [], data_type: OnnxDataType.FLOAT, raw_data: littleEndianFloat(scale) },
      { name: names.zeroPoint, dims: [], data_type: dataType, raw_data: new Uint8Array(zeroPointBytes.buffer) },
    );
    replacedWeights.add(tensor.name);
    return names;
  };

  const quantizeActivation = (input: string): QuantizedValue => {
    const known = activations.get(input);
    if (known) return known;
    const names = { quantized: `${input}_quantized`, scale: `${input}_scale`, zeroPoint: `${input}_zero_point` };
    const outputs = [names.quantized, names.scale, names.zeroPoint];
    nodes.push(node(`${input}_QuantizeLinear`, 'DynamicQuantizeLinear', [input], outputs));
    activations.set(input, names);
    return names;
  };

  // A float consumer of quantized Gather rows gets them through one DequantizeLinear per tensor.
  const dequantizeInputs = (inputs: string[]) => {
    for (const input of inputs) {
      const rows = gatheredRows.get(input);
      if (!rows) continue;
      const quantizedRows = [rows.quantized, rows.scale, rows.zeroPoint];
      nodes.push(node(`${input}_DequantizeLinear`, 'DequantizeLinear', quantizedRows, [input]));
      gatheredRows.delete(input);
    }
  };

  for (const original of graph.node) {
    const [first, second] = original.input;
    const [output] = original.output;
    const weight = floatInitializers.get(second);
    const table = floatInitializers.get(first);
    if (original.op_type === 'MatMul' && weight) {
      const a = quantizeActivation(first);
      const b = storeWeight(weight, quantizeOnce(weight, 'int8'));
      const integerOp = `${original.name}_quant`;
      const product = `${output}_output_quantized`;
      const scales = `${integerOp}_scales_mul`;
      nodes.push(
        node(integerOp, 'MatMulInteger', [a.quantized, b.quantized, a.zeroPoint, b.zeroPoint], [product]),
        node(`${product}_cast`, 'Cast', [product], [`${product}_cast_output`], OnnxDataType.FLOAT),
        node(scales, 'Mul', [a.scale, b.scale], [`${scales}:0`]),
        node(`${integerOp}_output_scale_mul`, 'Mul', [`${product}_cast_output`, `${scales}:0`], [output]),
      );
    } else if (original.op_type === 'Gather' && table) {
      const { quantized, scale, zeroPoint } = storeWeight(table, quantizeOnce(table, 'uint8'));
      nodes.push({ ...original, input: [quantized, ...original.input.slice(1)], output: [`${output}_quantized`] });
      gatheredRows.set(output, { quantized: `${output}_quantized`, scale, zeroPoint });
    } else {
      dequantizeInputs(original.input);
      nodes.push(original);
    }
  }
  const stillQuantized = [...gatheredRows.keys()];
  if (stillQuantized.length > 0) throw new Error(`Quantized tensors without a consumer: ${stillQuantized.join(', ')}`);

  return {
    ...model,
    graph: {
      ...graph,
      node: nodes,
      initializer: [
        ...graph.initializer.filter((tensor) => !replacedWeights.has(tensor.name)),
        ...quantizedInitializers,
      ],
    },
    metadata_props: [...model.metadata_props, { key: 'quantization', value: DYNAMIC_QUANTIZATION_SUMMARY }],
  };
}

function littleEndianFloat(value: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setFloat32(0, value, true);
  return bytes;
}
