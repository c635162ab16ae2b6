import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeSafetensors, encodeSafetensors, SafetensorsFormatError, type Tensor, type TensorMap } from './safetensors';

/** The elements of a tensor of any dtype, for assertions. */
const valuesOf = (tensor: Tensor | undefined): (number | bigint)[] => Array.from(tensor?.data as ArrayLike<number | bigint>);

const bytesOf = (data: Tensor['data']) => Buffer.from(data.buffer, data.byteOffset, data.byteLength);

const shapeArb = fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 });
const tensorArb: fc.Arbitrary<Tensor> = fc.oneof(
  shapeArb.chain((shape) => {
    const length = shape.reduce((a, b) => a * b, 1);
    return fc.oneof(
      fc.float32Array({ minLength: length, maxLength: length }).map((data): Tensor => ({ dtype: 'F32', shape, data })),
      fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: length, maxLength: length })
        .map((bits): Tensor => ({ dtype: 'F16', shape, data: Uint16Array.from(bits) })),
      fc.uint8Array({ minLength: length, maxLength: length }).map((data): Tensor => ({ dtype: 'U8', shape, data })),
      fc.int32Array({ minLength: length, maxLength: length }).map((data): Tensor => ({ dtype: 'I32', shape, data })),
      fc.bigInt64Array({ minLength: length, maxLength: length }).map((data): Tensor => ({ dtype: 'I64', shape, data })),
    );
  }),
);
const nameArb = fc.string({ minLength: 1, maxLength: 12 }).filter((name) => name !== '__metadata__');

describe('safetensors', () => {
  it('round-trips any set of tensors and metadata bit for bit', () => {
    fc.assert(
      fc.property(
        fc.dictionary(nameArb, tensorArb, { maxKeys: 5 }),
        fc.dictionary(nameArb, fc.string()),
        (tensors, metadata) => {
          const decoded = decodeSafetensors(encodeSafetensors(tensors, metadata));
          expect(Object.keys(decoded.tensors).sort()).toEqual(Object.keys(tensors).sort());
          for (const [name, tensor] of Object.entries(tensors)) {
            const back = decoded.tensors[name]!;
            expect(back.dtype).toBe(tensor.dtype);
            expect(back.shape).toEqual(tensor.shape);
            expect(back.data.constructor).toBe(tensor.data.constructor);
            expect(bytesOf(back.data).equals(bytesOf(tensor.data))).toBe(true);
          }
          expect(decoded.metadata).toEqual(metadata);
        },
      ),
    );
  });

  it('keeps a tensor named "__proto__" as an ordinary tensor', () => {
    const tensors = Object.fromEntries([['__proto__', { dtype: 'U8', shape: [1], data: Uint8Array.of(9) }]]) as TensorMap;
    const decoded = decodeSafetensors(encodeSafetensors(tensors));
    expect(Object.keys(decoded.tensors)).toEqual(['__proto__']);
    expect(valuesOf(Object.getOwnPropertyDescriptor(decoded.tensors, '__proto__')?.value as Tensor)).toEqual([9]);
  });

  it('reads an empty tensor that shares its offset with the next tensor', () => {
    // fast-check's counterexample: JSON puts the integer-like name "0" first in the header.
    const tensors: TensorMap = {
      '0': { dtype: 'F32', shape: [], data: Float32Array.of(0) },
      ' ': { dtype: 'I64', shape: [0, 3], data: new BigInt64Array(0) },
    };
    const decoded = decodeSafetensors(encodeSafetensors(tensors));
    expect(decoded.tensors[' ']?.shape).toEqual([0, 3]);
    expect(valuesOf(decoded.tensors['0'])).toEqual([0]);
  });

  it('aligns the data section to 8 bytes and every tensor to its element size', () => {
    const tensors: TensorMap = {
      a_bytes: { dtype: 'U8', shape: [3], data: Uint8Array.of(1, 2, 3) },
      b_ids: { dtype: 'I64', shape: [2], data: BigInt64Array.of(7n, -1n) },
      c_latents: { dtype: 'F32', shape: [1, 2], data: Float32Array.of(0.5, -2) },
    };
    const bytes = encodeSafetensors(tensors);
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + headerLength) % 8).toBe(0);
    const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + headerLength)).toString('utf8'));
    expect(header).toEqual({
      b_ids: { dtype: 'I64', shape: [2], data_offsets: [0, 16] },
      c_latents: { dtype: 'F32', shape: [1, 2], data_offsets: [16, 24] },
      a_bytes: { dtype: 'U8', shape: [3], data_offsets: [24, 27] },
    });
    expect(bytes.length).toBe(8 + headerLength + 27);
  });

  it('reads tensors at unaligned positions by copying them', () => {
    const bytes = encodeSafetensors({ x: { dtype: 'F32', shape: [2], data: Float32Array.of(1.5, 3) } });
    const shifted = new Uint8Array(bytes.length + 1).subarray(1);
    shifted.set(bytes);
    expect(valuesOf(decodeSafetensors(shifted).tensors.x)).toEqual([1.5, 3]);
  });

  it('refuses data whose length does not match the shape', () => {
    expect(() => encodeSafetensors({ x: { dtype: 'F32', shape: [2, 2], data: new Float32Array(3) } })).toThrow(
      /shape \[2, 2\] holds 4 elements, data has 3/,
    );
  });

  function withHeader(header: object, dataBytes: number): Uint8Array {
    const json = Buffer.from(JSON.stringify(header));
    const out = new Uint8Array(8 + json.length + dataBytes);
    new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
    out.set(json, 8);
    return out;
  }

  it.each([
    ['an unknown dtype', { x: { dtype: 'BF16', shape: [1], data_offsets: [0, 2] } }, 2, /dtype "BF16" is not one of/],
    ['a gap between tensors', { x: { dtype: 'U8', shape: [1], data_offsets: [1, 2] } }, 2, /starts at 1, expected 0/],
    ['trailing bytes', { x: { dtype: 'U8', shape: [1], data_offsets: [0, 1] } }, 2, /cover 1 data bytes, the file holds 2/],
    ['a size that disagrees with the shape', { x: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }, 4, /needs 8 bytes/],
    ['non-string metadata', { __metadata__: { step: 3 } }, 0, /metadata "step" must be a string/],
  ])('rejects %s', (_case, header, dataBytes, message) => {
    expect(() => decodeSafetensors(withHeader(header, dataBytes))).toThrow(message);
  });

  it('rejects a header length beyond the file', () => {
    const bytes = new Uint8Array(16);
    new DataView(bytes.buffer).setBigUint64(0, 1000n, true);
    expect(() => decodeSafetensors(bytes)).toThrow(SafetensorsFormatError);
  });
});
