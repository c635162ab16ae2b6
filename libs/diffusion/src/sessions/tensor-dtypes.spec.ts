import { describe, expect, it } from 'vitest';
import {
  float16Bits,
  float16ToFloat32,
  float16Value,
  float32ToFloat16,
  outputToFloat32,
  toModelDtype,
} from './tensor-dtypes';

describe('float16 conversion', () => {
  it('round-trips every finite float16 bit pattern exactly', () => {
    for (let bits = 0; bits < 0x10000; bits++) {
      if ((bits & 0x7c00) === 0x7c00) continue; // infinities and NaNs below
      expect(float16Bits(float16Value(bits))).toBe(bits);
    }
  });

  it('rounds to nearest, ties to even, as numpy astype(float16) does', () => {
    expect(float16Value(float16Bits(1 + 2 ** -11))).toBe(1); // tie, 1 is even
    expect(float16Value(float16Bits(1 + 3 * 2 ** -11))).toBe(1 + 2 ** -9); // tie, rounds up to even
    expect(float16Value(float16Bits(1 + 2 ** -11 + 2 ** -20))).toBe(1 + 2 ** -10); // above the tie
    expect(float16Value(float16Bits(0.1))).toBe(0.0999755859375);
    expect(float16Value(float16Bits(2 ** -25))).toBe(0); // subnormal tie to even zero
    expect(float16Value(float16Bits(1.5 * 2 ** -25))).toBe(2 ** -24);
    expect(float16Value(float16Bits(2 ** -14 - 2 ** -30))).toBe(2 ** -14); // subnormal rounding into the normals
  });

  it('saturates to infinity beyond the float16 range and keeps NaN, infinities and signed zero', () => {
    expect(float16Value(float16Bits(65504))).toBe(65504);
    expect(float16Value(float16Bits(65519))).toBe(65504);
    expect(float16Value(float16Bits(65520))).toBe(Number.POSITIVE_INFINITY);
    expect(float16Value(float16Bits(-1e6))).toBe(Number.NEGATIVE_INFINITY);
    expect(float16Value(float16Bits(Number.NaN))).toBeNaN();
    expect(Object.is(float16Value(float16Bits(-0)), -0)).toBe(true);
  });

  it('converts whole arrays both ways', () => {
    const values = Float32Array.from([0.5, -2, 3.140625, 1e-3]);
    const back = float16ToFloat32(float32ToFloat16(values));
    expect(Array.from(back.subarray(0, 3))).toEqual([0.5, -2, 3.140625]);
    expect(Math.abs((back[3] as number) - 1e-3)).toBeLessThan(1e-3 * 2 ** -10);
  });
});

describe('toModelDtype', () => {
  it('rounds float timesteps half to even for integer inputs, as np.rint', () => {
    expect(toModelDtype(Float32Array.from([980.5, 981.5, 12.2]), 'int64')).toEqual(
      BigInt64Array.from([980n, 982n, 12n]),
    );
    expect(toModelDtype(Float32Array.from([980.5, 7.7]), 'int32')).toEqual(Int32Array.from([980, 8]));
  });

  it('converts between the integer dtypes and refuses ids that do not fit int32', () => {
    expect(toModelDtype(Int32Array.from([1, 2]), 'int64')).toEqual(BigInt64Array.from([1n, 2n]));
    expect(toModelDtype(BigInt64Array.from([5n]), 'int32')).toEqual(Int32Array.from([5]));
    expect(() => toModelDtype(BigInt64Array.from([2n ** 40n]), 'int32')).toThrow(RangeError);
  });

  it('passes float32 through untouched and half-encodes float16', () => {
    const values = Float32Array.from([1, 2]);
    expect(toModelDtype(values, 'float32')).toBe(values);
    expect(toModelDtype(values, 'float16')).toEqual(Uint16Array.from([0x3c00, 0x4000]));
  });
});

describe('outputToFloat32', () => {
  it('decodes float16 bit patterns and widens other typed arrays', () => {
    expect(outputToFloat32(Uint16Array.from([0x3c00, 0xc000]), 'float16')).toEqual(
      Float32Array.from([1, -2]),
    );
    expect(outputToFloat32(Float64Array.from([0.25]), 'float64')).toEqual(Float32Array.from([0.25]));
    expect(() => outputToFloat32(['x'], 'string')).toThrow(TypeError);
  });
});
