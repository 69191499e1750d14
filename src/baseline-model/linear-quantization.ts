/**
 * Per-tensor linear quantization, q = clamp(round(x / scale) + zeroPoint), with the arithmetic of
 * ONNX Runtime's Python quantizer (`compute_scale_zp`, `quantize_nparray`): the range always
 * includes 0 (so 0 maps exactly to the zero point), scales are computed in float64 and stored as
 * float32, `x / scale` is a float32 division and rounding is half to even, as numpy rounds.
 */
export interface QuantizedTensor<T extends Int8Array | Uint8Array> {
  values: T;
  scale: number;
  zeroPoint: number;
  /** Every value was 0: the range was empty, so scale and zero point are ONNX Runtime's placeholders. */
  allZero: boolean;
}

/** Below this the range is treated as empty, as numpy's float32 `tiny` is in ONNX Runtime. */
const FLOAT32_TINY = 1.1754943508222875e-38;

/**
 * Rounds half to even for |x| < 2³¹ (quantized values are within ±255). Written without Math.*
 * because those calls run ~50× slower inside Jest's module realm and this runs per weight.
 */
export function roundHalfToEven(x: number): number {
  const truncated = x | 0;
  const floor = x < truncated ? truncated - 1 : truncated;
  const fraction = x - floor;
  if (fraction !== 0.5) return fraction < 0.5 ? floor : floor + 1;
  return floor % 2 === 0 ? floor : floor + 1;
}

function range(values: Float32Array): { min: number; max: number } {
  let min = 0;
  let max = 0;
  // Indexed, not for-of: this runs over the 23 M-entry embedding table.
  for (let i = 0; i < values.length; i += 1) {
    const value = values[i];
    if (value < min) min = value;
    else if (value > max) max = value;
  }
  return { min, max };
}

function quantize<T extends Int8Array | Uint8Array>(
  values: Float32Array,
  target: T,
  scale: number,
  zeroPoint: number,
  [qmin, qmax]: readonly [number, number],
  allZero = false,
): QuantizedTensor<T> {
  // Storing into a float32 slot rounds the quotient to float32, as numpy's float32 division does.
  const quotient = new Float32Array(1);
  for (let i = 0; i < values.length; i += 1) {
    quotient[0] = values[i] / scale;
    const q = roundHalfToEven(quotient[0]) + zeroPoint;
    target[i] = q < qmin ? qmin : q > qmax ? qmax : q;
  }
  return { values: target, scale, zeroPoint, allZero };
}

/** int8 symmetric over [−127, 127] with zero point 0: ONNX Runtime's default for `weight_type=QInt8`. */
export function quantizeSymmetricInt8(values: Float32Array): QuantizedTensor<Int8Array> {
  const { min, max } = range(values);
  const absMax = Math.max(-min, max);
  const scale = (2 * absMax) / 254;
  if (scale < FLOAT32_TINY) return quantize(values, new Int8Array(values.length), 1, 0, [-127, 127], true);
  return quantize(values, new Int8Array(values.length), Math.fround(scale), 0, [-127, 127]);
}

/** uint8 asymmetric over [0, 255]: what ONNX Runtime's dynamic mode uses for activation-typed tensors. */
export function quantizeAsymmetricUint8(values: Float32Array): QuantizedTensor<Uint8Array> {
  const { min, max } = range(values);
  const scale = (max - min) / 255;
  if (scale < FLOAT32_TINY) return quantize(values, new Uint8Array(values.length), 1, 0, [0, 255], true);
  const zeroPoint = roundHalfToEven(0 - min / scale);
  return quantize(values, new Uint8Array(values.length), Math.fround(scale), zeroPoint, [0, 255]);
}
