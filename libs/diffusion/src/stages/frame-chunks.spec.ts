import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planFrameChunks } from './frame-chunks';

describe('planFrameChunks', () => {
  it('keeps every frame exactly once, in order, each chunk with at most chunkFrames kept frames', () => {
    fc.assert(
      fc.property(fc.nat(200), fc.integer({ min: 1, max: 40 }), fc.nat(20), (frames, chunk, context) => {
        const chunks = planFrameChunks(frames, chunk, context);
        const kept = chunks.flatMap(({ start, end }) => Array.from({ length: end - start }, (_, i) => start + i));
        expect(kept).toEqual(Array.from({ length: frames }, (_, i) => i));
        for (const { start, end } of chunks) expect(end - start).toBeLessThanOrEqual(chunk);
      }),
    );
  });

  it('gives each chunk the full left context the decoder needs, clipped at the first frame', () => {
    fc.assert(
      fc.property(fc.nat(200), fc.integer({ min: 1, max: 40 }), fc.nat(20), (frames, chunk, context) => {
        for (const { contextStart, start } of planFrameChunks(frames, chunk, context)) {
          expect(contextStart).toBe(Math.max(0, start - context));
        }
      }),
    );
  });

  it('plans 61 frames in chunks of 16 with 14 context frames', () => {
    expect(planFrameChunks(61, 16, 14)).toEqual([
      { contextStart: 0, start: 0, end: 16 },
      { contextStart: 2, start: 16, end: 32 },
      { contextStart: 18, start: 32, end: 48 },
      { contextStart: 34, start: 48, end: 61 },
    ]);
  });

  it('refuses a chunk of no frames', () => {
    expect(() => planFrameChunks(10, 0, 2)).toThrow(RangeError);
  });
});
