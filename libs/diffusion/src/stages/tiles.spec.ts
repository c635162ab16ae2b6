import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cropTile, planTiles, planTileSpans, spanBlendWeights, TileBlend } from './tiles';

const spanArguments = fc
  .record({ length: fc.integer({ min: 1, max: 600 }), tileSize: fc.integer({ min: 1, max: 300 }) })
  .chain(({ length, tileSize }) =>
    fc.record({
      length: fc.constant(length),
      tileSize: fc.constant(tileSize),
      overlap: fc.integer({ min: 0, max: tileSize - 1 }),
    }),
  );

describe('planTileSpans', () => {
  it('covers the axis with full-size spans in order, neighbours overlapping by at least the overlap', () => {
    fc.assert(
      fc.property(spanArguments, ({ length, tileSize, overlap }) => {
        const spans = planTileSpans(length, tileSize, overlap);
        expect(spans[0]!.start).toBe(0);
        expect(spans.at(-1)!.start + spans.at(-1)!.size).toBe(length);
        for (const span of spans) expect(span.size).toBe(Math.min(tileSize, length));
        for (let i = 1; i < spans.length; i++) {
          expect(spans[i]!.start).toBeGreaterThan(spans[i - 1]!.start);
          expect(spans[i - 1]!.start + spans[i - 1]!.size - spans[i]!.start).toBeGreaterThanOrEqual(overlap);
        }
      }),
    );
  });

  it('starts tiles at multiples of the stride, so a stride on the model grid keeps tiles on it', () => {
    expect(planTileSpans(256, 96, 32)).toEqual([
      { start: 0, size: 96 },
      { start: 64, size: 96 },
      { start: 128, size: 96 },
      { start: 160, size: 96 },
    ]);
  });

  it('gives one span of the whole axis when the tile is at least as long', () => {
    expect(planTileSpans(256, 512, 64)).toEqual([{ start: 0, size: 256 }]);
  });

  it('refuses an overlap as large as the tile', () => {
    expect(() => planTileSpans(256, 64, 64)).toThrow(RangeError);
  });
});

describe('spanBlendWeights', () => {
  it('is 1 where only one span covers a position and sums to 1 across two equal facing ramps', () => {
    const spans = planTileSpans(160, 96, 32); // spans [0, 96) and [64, 160)
    const [first, second] = spanBlendWeights(spans);
    for (let p = 0; p < 64; p++) expect(first![p]).toBe(1);
    for (let p = 96; p < 160; p++) expect(second![p - 64]).toBe(1);
    for (let p = 64; p < 96; p++) expect(first![p]! + second![p - 64]!).toBeCloseTo(1, 6);
  });

  it('is positive everywhere, so every covered pixel has a weight', () => {
    fc.assert(
      fc.property(spanArguments, ({ length, tileSize, overlap }) => {
        for (const weights of spanBlendWeights(planTileSpans(length, tileSize, overlap))) {
          for (const w of weights) expect(w).toBeGreaterThan(0);
        }
      }),
    );
  });
});

function randomPlanes(count: number, seed: number): Float32Array {
  let state = seed;
  return Float32Array.from({ length: count }, () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 30 - 1;
  });
}

describe('TileBlend', () => {
  it('reassembles the frame exactly when every tile reports the crop of one frame-wide output', () => {
    const frame = { height: 96, width: 160 };
    const planes = 6;
    const truth = randomPlanes(planes * frame.height * frame.width, 7);
    const plan = planTiles(frame, 64, 32);
    expect(plan.tiles.length).toBeGreaterThan(1);
    const blend = new TileBlend(plan, planes);
    plan.tiles.forEach((tile, i) => blend.add(i, cropTile(truth, frame, tile)));
    const result = blend.result();
    let maxDifference = 0;
    for (let i = 0; i < truth.length; i++) maxDifference = Math.max(maxDifference, Math.abs(result[i]! - truth[i]!));
    expect(maxDifference).toBeLessThan(1e-6);
  });

  it('is the identity with one tile covering the frame', () => {
    const frame = { height: 64, width: 64 };
    const truth = randomPlanes(3 * 64 * 64, 3);
    const plan = planTiles(frame, 64, 16);
    expect(plan.tiles).toEqual([{ top: 0, left: 0, height: 64, width: 64 }]);
    const blend = new TileBlend(plan, 3);
    blend.add(0, cropTile(truth, frame, plan.tiles[0]!));
    expect(blend.result()).toEqual(truth);
  });

  it('moves smoothly from one tile to its neighbour across the overlap', () => {
    const frame = { height: 32, width: 160 };
    const plan = planTiles(frame, 96, 32); // columns [0, 96) and [64, 160)
    const blend = new TileBlend(plan, 1);
    blend.add(0, new Float32Array(32 * 96).fill(0));
    blend.add(1, new Float32Array(32 * 96).fill(1));
    const row = blend.result().subarray(0, 160);
    expect(row[63]).toBe(0);
    expect(row[96]).toBe(1);
    for (let x = 64; x < 96; x++) {
      expect(row[x]!).toBeGreaterThan(row[x - 1]!);
      expect(row[x]! - row[x - 1]!).toBeLessThan(0.1);
    }
  });

  it('refuses a tile output of the wrong size', () => {
    const plan = planTiles({ height: 64, width: 64 }, 32, 8);
    expect(() => new TileBlend(plan, 3).add(0, new Float32Array(10))).toThrow(RangeError);
  });
});
