import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  cropRegion,
  exactTilingHalo,
  pasteTileCore,
  planTiles,
  planTileSpans,
  wholeFramePlan,
  type TileGeometry,
} from './tiles';

/** An axis length, a size multiple and a geometry on it, all multiples of the size multiple. */
const axisArguments = fc.integer({ min: 1, max: 32 }).chain((sizeMultiple) =>
  fc.record({
    sizeMultiple: fc.constant(sizeMultiple),
    length: fc.integer({ min: 1, max: 40 }).map((n) => n * sizeMultiple),
    coreSize: fc.integer({ min: 1, max: 20 }).map((n) => n * sizeMultiple),
    halo: fc.integer({ min: 0, max: 10 }).map((n) => n * sizeMultiple),
  }),
);

describe('planTileSpans', () => {
  it('puts every core position in exactly one core, in order, each span on the size-multiple grid', () => {
    fc.assert(
      fc.property(axisArguments, ({ length, ...geometry }) => {
        const spans = planTileSpans(length, geometry);
        const covered = new Array<number>(length).fill(0);
        for (const span of spans) {
          for (let p = span.coreStart; p < span.coreStart + span.coreSize; p++) covered[p]! += 1;
          expect(span.start % geometry.sizeMultiple).toBe(0);
          expect(span.size % geometry.sizeMultiple).toBe(0);
          expect(span.coreStart % geometry.sizeMultiple).toBe(0);
        }
        expect(covered.every((count) => count === 1)).toBe(true);
        for (let i = 1; i < spans.length; i++) expect(spans[i]!.coreStart).toBeGreaterThan(spans[i - 1]!.coreStart);
      }),
    );
  });

  it('extends each core by the halo on both sides, clipped at the ends of the axis', () => {
    fc.assert(
      fc.property(axisArguments, ({ length, ...geometry }) => {
        const spans = planTileSpans(length, geometry);
        if (spans.length === 1) return;
        for (const span of spans) {
          expect(span.start).toBe(Math.max(0, span.coreStart - geometry.halo));
          expect(span.start + span.size).toBe(Math.min(length, span.coreStart + span.coreSize + geometry.halo));
          expect(span.coreSize).toBeLessThanOrEqual(geometry.coreSize);
        }
      }),
    );
  });

  it('runs the whole axis once when the first core and its halo already reach its end', () => {
    fc.assert(
      fc.property(axisArguments, ({ length, ...geometry }) => {
        const spans = planTileSpans(length, geometry);
        const whole = [{ start: 0, size: length, coreStart: 0, coreSize: length }];
        if (geometry.coreSize + geometry.halo >= length) expect(spans).toEqual(whole);
        else expect(spans.length).toBe(Math.ceil(length / geometry.coreSize));
      }),
    );
  });

  it('cuts 640 pixels in cores of 128 with a 128-pixel halo', () => {
    expect(planTileSpans(640, { coreSize: 128, halo: 128, sizeMultiple: 8 })).toEqual([
      { start: 0, size: 256, coreStart: 0, coreSize: 128 },
      { start: 0, size: 384, coreStart: 128, coreSize: 128 },
      { start: 128, size: 384, coreStart: 256, coreSize: 128 },
      { start: 256, size: 384, coreStart: 384, coreSize: 128 },
      { start: 384, size: 256, coreStart: 512, coreSize: 128 },
    ]);
  });

  it('refuses sizes off the size-multiple grid', () => {
    const geometry: TileGeometry = { coreSize: 64, halo: 32, sizeMultiple: 16 };
    expect(() => planTileSpans(200, geometry)).toThrow(/length 200 is not a multiple/);
    expect(() => planTileSpans(256, { ...geometry, coreSize: 72 })).toThrow(/core size 72/);
    expect(() => planTileSpans(256, { ...geometry, halo: 24 })).toThrow(/halo 24/);
  });
});

describe('exactTilingHalo', () => {
  it('rounds the receptive field radius up to the size multiple', () => {
    expect(exactTilingHalo(123, 8)).toBe(128);
    expect(exactTilingHalo(267, 16)).toBe(272);
    expect(exactTilingHalo(128, 8)).toBe(128);
    expect(exactTilingHalo(0, 8)).toBe(0);
  });
});

function randomPlanes(count: number, seed: number): Float32Array {
  let state = seed;
  return Float32Array.from({ length: count }, () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 30 - 1;
  });
}

describe('planTiles, cropRegion and pasteTileCore', () => {
  it('reassemble a frame-wide output exactly from the cores of its tiles', () => {
    const frameArguments = fc.record({
      rows: fc.integer({ min: 1, max: 12 }),
      columns: fc.integer({ min: 1, max: 12 }),
      coreCells: fc.integer({ min: 1, max: 5 }),
      haloCells: fc.integer({ min: 0, max: 3 }),
      planes: fc.integer({ min: 1, max: 4 }),
    });
    fc.assert(
      fc.property(frameArguments, ({ rows, columns, coreCells, haloCells, planes }) => {
        const sizeMultiple = 4;
        const frame = { height: rows * sizeMultiple, width: columns * sizeMultiple };
        const truth = randomPlanes(planes * frame.height * frame.width, rows * 31 + columns);
        const plan = planTiles(frame, {
          coreSize: coreCells * sizeMultiple,
          halo: haloCells * sizeMultiple,
          sizeMultiple,
        });
        const reassembled = new Float32Array(truth.length).fill(Number.NaN);
        for (const tile of plan.tiles) pasteTileCore(reassembled, frame, tile, cropRegion(truth, frame, tile));
        expect(reassembled).toEqual(truth);
      }),
    );
  });

  it('keeps only the core: a tile whose halo is wrong leaves the frame outside its core alone', () => {
    const frame = { height: 32, width: 32 };
    const plan = planTiles(frame, { coreSize: 16, halo: 8, sizeMultiple: 8 });
    const tile = plan.tiles[0]!;
    expect(tile).toEqual({ top: 0, left: 0, height: 24, width: 24, core: { top: 0, left: 0, height: 16, width: 16 } });
    const frameOutput = new Float32Array(32 * 32);
    pasteTileCore(frameOutput, frame, tile, new Float32Array(24 * 24).fill(1));
    for (let y = 0; y < 32; y++) {
      for (let x = 0; x < 32; x++) expect(frameOutput[y * 32 + x]).toBe(y < 16 && x < 16 ? 1 : 0);
    }
  });

  it('makes one tile of the whole frame when no tiling is needed', () => {
    const frame = { height: 64, width: 96 };
    expect(planTiles(frame, { coreSize: 64, halo: 32, sizeMultiple: 16 })).toEqual(wholeFramePlan(frame));
  });

  it('refuses a tile output of the wrong size', () => {
    const frame = { height: 32, width: 32 };
    const plan = planTiles(frame, { coreSize: 16, halo: 8, sizeMultiple: 8 });
    expect(() => pasteTileCore(new Float32Array(3 * 32 * 32), frame, plan.tiles[0]!, new Float32Array(10))).toThrow(
      RangeError,
    );
  });
});
