import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyGuidance } from './classifier-free-guidance';

const outputArb = fc.float32Array({
  minLength: 8,
  maxLength: 8,
  min: -4,
  max: 4,
  noNaN: true,
  noDefaultInfinity: true,
});

describe('applyGuidance', () => {
  it('computes uncond + scale·(cond − uncond) in float32', () => {
    const guided = applyGuidance(new Float32Array([0, 1, -2]), new Float32Array([1, 3, -2]), 7.5);
    expect(Array.from(guided)).toEqual([7.5, 16, -2]);
  });

  it('returns the conditional output at scale 1 and the unconditional one at scale 0', () => {
    fc.assert(
      fc.property(outputArb, outputArb, (uncond, cond) => {
        const atOne = applyGuidance(uncond, cond, 1);
        const atZero = applyGuidance(uncond, cond, 0);
        return (
          atZero.every((v, i) => v === uncond[i]) &&
          atOne.every(
            (v, i) => Math.abs(v - (cond[i] as number)) <= 1e-6 * Math.max(1, Math.abs(cond[i] as number)),
          )
        );
      }),
    );
  });

  it('rounds like torch float32: scale·(cond − uncond) is rounded before the sum', () => {
    const uncond = new Float32Array([0.1]);
    const cond = new Float32Array([0.30000001192092896]);
    const diff = Math.fround((cond[0] as number) - (uncond[0] as number));
    expect(applyGuidance(uncond, cond, 7.5)[0]).toBe(
      Math.fround((uncond[0] as number) + Math.fround(7.5 * diff)),
    );
  });

  it('rejects outputs of different lengths and a non-finite scale', () => {
    expect(() => applyGuidance(new Float32Array(2), new Float32Array(3), 7.5)).toThrow(RangeError);
    expect(() => applyGuidance(new Float32Array(2), new Float32Array(2), Number.NaN)).toThrow(RangeError);
  });
});
