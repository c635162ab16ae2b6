import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NoisePurpose, philox4x32x10, seededGaussian, streamId } from './seeded-noise';

interface NoiseVectorCase {
  seed: number;
  stream: number;
  offset: number;
  count: number;
  values: number[];
}

// Written by `python -m magicvideo_models.noise --write-vectors` (docs/noise.md).
const committedVectors = JSON.parse(
  readFileSync(new URL('../../test/fixtures/noise-vectors.json', import.meta.url), 'utf8'),
) as { cases: NoiseVectorCase[] };

describe('philox4x32x10', () => {
  // Known-answer tests of Random123 (kat_vectors, philox4x32 10).
  it.each([
    [
      [0, 0, 0, 0],
      [0, 0],
      [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8],
    ],
    [
      [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff],
      [0xffffffff, 0xffffffff],
      [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd],
    ],
    [
      [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
      [0xa4093822, 0x299f31d0],
      [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1],
    ],
  ])('matches the Random123 known answer for counter %j, key %j', (counter, key, expected) => {
    expect(philox4x32x10(counter, key)).toEqual(expected);
  });
});

describe('seededGaussian', () => {
  it('has committed cross-language cases, including a seed above 2^32', () => {
    expect(committedVectors.cases.length).toBeGreaterThanOrEqual(5);
    expect(committedVectors.cases.some((c) => c.seed >= 2 ** 32)).toBe(true);
  });

  it.each(committedVectors.cases.map((c) => [c.seed, c.stream, c.offset, c] as const))(
    'equals the Python vectors for seed %d, stream %d, offset %d',
    (seed, stream, offset, vectorCase) => {
      const values = seededGaussian(seed, stream, vectorCase.count, offset);
      expect(values).toHaveLength(vectorCase.values.length);
      let worst = 0;
      let differing = 0;
      values.forEach((value, i) => {
        const error = Math.abs(value - (vectorCase.values[i] ?? Number.NaN));
        worst = Math.max(worst, error);
        if (error > 0) differing++;
      });
      expect(worst).toBeLessThanOrEqual(1e-6);
      // libm differences may move a rare value by one float32 ulp, never many
      expect(differing).toBeLessThanOrEqual(1);
    },
  );

  it('draws a slice on its own equal to the slice of a longer draw', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        fc.integer({ min: 0, max: 300 }),
        fc.integer({ min: 0, max: 64 }),
        (seed, stream, offset, count) => {
          const longer = seededGaussian(seed, stream, offset + count);
          expect(seededGaussian(seed, stream, count, offset)).toEqual(longer.subarray(offset));
        },
      ),
      { numRuns: 100 },
    );
  });

  it('has zero mean and unit variance over 200k values', () => {
    const values = seededGaussian(2024, streamId(NoisePurpose.keyframeInitialLatents), 200_000);
    let sum = 0;
    let sumOfSquares = 0;
    for (const value of values) {
      sum += value;
      sumOfSquares += value * value;
    }
    const mean = sum / values.length;
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(Math.abs(sumOfSquares / values.length - mean * mean - 1)).toBeLessThan(0.015);
  });

  it('differs between streams and between seeds', () => {
    const base = seededGaussian(1, streamId(NoisePurpose.keyframeStepNoise, 0), 16);
    expect(seededGaussian(1, streamId(NoisePurpose.keyframeStepNoise, 1), 16)).not.toEqual(base);
    expect(seededGaussian(2, streamId(NoisePurpose.keyframeStepNoise, 0), 16)).not.toEqual(base);
    expect(seededGaussian(1 + 2 ** 32, streamId(NoisePurpose.keyframeStepNoise, 0), 16)).not.toEqual(base);
  });

  it.each([
    ['seed', () => seededGaussian(-1, 0, 4)],
    ['seed', () => seededGaussian(2 ** 53, 0, 4)],
    ['seed', () => seededGaussian(1.5, 0, 4)],
    ['stream', () => seededGaussian(1, 2 ** 32, 4)],
    ['count', () => seededGaussian(1, 0, -1)],
    ['offset', () => seededGaussian(1, 0, 4, -4)],
  ])('rejects an invalid %s', (name, draw) => {
    expect(draw).toThrow(new RegExp(name));
  });
});

describe('streamId', () => {
  it('packs purpose and index as purpose * 65536 + index', () => {
    expect(streamId(NoisePurpose.keyframeStepNoise, 17)).toBe(2 * 65536 + 17);
    expect(streamId(NoisePurpose.sdeditNoise)).toBe(9 * 65536);
    expect(() => streamId(NoisePurpose.keyframeStepNoise, 65536)).toThrow(/index/);
  });
});
