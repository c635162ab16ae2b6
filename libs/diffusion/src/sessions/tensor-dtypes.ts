/**
 * Tensors at the runtime's API boundary are float32 (or integer ids); a model may declare other
 * dtypes for its inputs and outputs (docs/models.md, "Dtypes": a timestep may be int64, a
 * half-precision export takes float16). These conversions sit between the two, so the sampler
 * and the noise always compute in float32.
 */

import { roundHalfToEven } from '../schedulers/timesteps';

/** A float tensor as the stages pass it around: row-major data, dims outermost first. */
export interface FloatTensor {
  data: Float32Array;
  dims: number[];
}

/** Token ids and other integer inputs. */
export interface IntTensor {
  data: BigInt64Array | Int32Array;
  dims: number[];
}

/** The element types a model may declare for a contract tensor (onnxruntime's names). */
export type ModelDtype = 'float32' | 'float16' | 'int64' | 'int32';
export const MODEL_DTYPES: readonly ModelDtype[] = ['float32', 'float16', 'int64', 'int32'];

/** What onnxruntime takes for each dtype; float16 travels as its IEEE 754 binary16 bit patterns. */
export type DtypeData = Float32Array | Uint16Array | BigInt64Array | Int32Array;

const float32View = new Float32Array(1);
const bitsView = new Uint32Array(float32View.buffer);

const HALF_SUBNORMAL_UNIT = 2 ** -24;
const HALF_MIN_NORMAL = 2 ** -14;

/** One float32 value as float16 bits, rounded to nearest even (numpy's `astype(float16)`). */
export function float16Bits(value: number): number {
  float32View[0] = value;
  const bits = bitsView[0] as number;
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa !== 0 ? 0x200 : 0);
  const magnitude = Math.abs(float32View[0] as number);
  if (magnitude < HALF_MIN_NORMAL) {
    // subnormal half: a multiple of 2^-24; the quotient is exact in float64; 1024 carries into the exponent
    return sign | roundHalfToEven(magnitude / HALF_SUBNORMAL_UNIT);
  }
  const halfExponent = exponent - 127 + 15;
  if (halfExponent >= 0x1f) return sign | 0x7c00;
  let half = (halfExponent << 10) | (mantissa >>> 13);
  const dropped = mantissa & 0x1fff;
  if (dropped > 0x1000 || (dropped === 0x1000 && (half & 1) === 1)) half += 1; // a carry may reach infinity, as it should
  return sign | half;
}

/** float16 bits back to the (exactly representable) number. */
export function float16Value(bits: number): number {
  const sign = (bits & 0x8000) !== 0 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * HALF_SUBNORMAL_UNIT;
  if (exponent === 0x1f) return mantissa !== 0 ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

export function float32ToFloat16(values: Float32Array): Uint16Array {
  const half = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) half[i] = float16Bits(values[i] as number);
  return half;
}

export function float16ToFloat32(half: Uint16Array): Float32Array {
  const values = new Float32Array(half.length);
  for (let i = 0; i < half.length; i++) values[i] = float16Value(half[i] as number);
  return values;
}

/**
 * A feed's data in the dtype the model declares. Floats become integers by rounding half to
 * even (the Python reference's `np.rint`), as an int64 timestep needs.
 */
export function toModelDtype(data: Float32Array | BigInt64Array | Int32Array, dtype: ModelDtype): DtypeData {
  switch (dtype) {
    case 'float32':
      return data instanceof Float32Array ? data : Float32Array.from(data, Number);
    case 'float16':
      return float32ToFloat16(data instanceof Float32Array ? data : Float32Array.from(data, Number));
    case 'int64':
      if (data instanceof BigInt64Array) return data;
      if (data instanceof Int32Array) return BigInt64Array.from(data, (value) => BigInt(value));
      return BigInt64Array.from(data, (value) => BigInt(roundHalfToEven(value)));
    case 'int32':
      if (data instanceof Int32Array) return data;
      if (data instanceof BigInt64Array) return Int32Array.from(data, (value) => checkedInt32(value));
      return Int32Array.from(data, (value) => roundHalfToEven(value));
  }
}

function checkedInt32(value: bigint): number {
  const asNumber = Number(value);
  if (asNumber < -(2 ** 31) || asNumber >= 2 ** 31) {
    throw new RangeError(`${value} does not fit an int32 input`);
  }
  return asNumber;
}

/**
 * A model output as float32. float16 outputs arrive as bit patterns (Uint16Array) or, where
 * the platform has one, a Float16Array whose elements are already numbers.
 */
export function outputToFloat32(data: unknown, dtype: string): Float32Array {
  if (data instanceof Float32Array) return data;
  if (dtype === 'float16' && data instanceof Uint16Array) return float16ToFloat32(data);
  if (ArrayBuffer.isView(data) && !(data instanceof DataView)) {
    return Float32Array.from(data as unknown as ArrayLike<number | bigint>, Number);
  }
  throw new TypeError(`cannot read a ${dtype} output as float32`);
}

export function isModelDtype(dtype: string): dtype is ModelDtype {
  return (MODEL_DTYPES as readonly string[]).includes(dtype);
}
