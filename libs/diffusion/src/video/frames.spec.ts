import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  byteToSignedUnit,
  FrameShapeMismatch,
  resizePlanes,
  rgbFramesToSignedFloat,
  signedFloatToRgbFrames,
  type ResizeMode,
} from './frames';

/** Written by test/fixtures/frames/make_frames_reference.py with diffusers and PyTorch. */
interface FramesReference {
  postprocess: { shape: [number, number, number, number]; input: number[]; bytesNHWC: number[] };
  preprocess: { signedUnitOfByte: number[] };
  resize: {
    source: { shape: [number, number, number, number]; data: number[] };
    cases: { mode: ResizeMode; height: number; width: number; scaleFactor?: number; data: number[] }[];
  };
}

let reference: FramesReference;
beforeAll(async () => {
  const url = new URL('../../test/fixtures/frames/frames-reference.json', import.meta.url);
  reference = JSON.parse(await readFile(url, 'utf8')) as FramesReference;
});

function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

describe('signedFloatToRgbFrames', () => {
  it("gives the bytes diffusers' postprocess gives, ties and out-of-range values included", () => {
    const [n, , h, w] = reference.postprocess.shape;
    // diffusers' images [N, 3, H, W] are the FCHW layout.
    const frames = signedFloatToRgbFrames(
      Float32Array.from(reference.postprocess.input),
      { frameCount: n, height: h, width: w },
      'FCHW',
    );
    expect(Array.from(frames.data)).toEqual(reference.postprocess.bytesNHWC);
  });

  it('reads the VAE layout [1, 3, F, H, W] as frames', () => {
    // F=2, H=1, W=2: channel c of frame f at pixel p is the value 0.1·(c+1)·(f+1)·(p+1) − 0.5.
    const data = new Float32Array(12);
    for (let c = 0; c < 3; c++)
      for (let f = 0; f < 2; f++) for (let p = 0; p < 2; p++) data[(c * 2 + f) * 2 + p] = 0.1 * (c + 1) * (f + 1) * (p + 1) - 0.5;
    const frames = signedFloatToRgbFrames(data, { frameCount: 2, height: 1, width: 2 }, 'CFHW');
    const planar = rgbFramesToSignedFloat(frames, 'FCHW');
    for (let f = 0; f < 2; f++)
      for (let c = 0; c < 3; c++)
        for (let p = 0; p < 2; p++)
          expect(planar[(f * 3 + c) * 2 + p]).toBeCloseTo(0.1 * (c + 1) * (f + 1) * (p + 1) - 0.5, 2);
  });

  it('refuses data whose length does not match the shape', () => {
    expect(() => signedFloatToRgbFrames(new Float32Array(11), { frameCount: 2, height: 1, width: 2 }, 'CFHW')).toThrow(
      FrameShapeMismatch,
    );
  });
});

describe('rgbFramesToSignedFloat', () => {
  it("maps every byte to the float diffusers' preprocess gives", () => {
    const bytes = Uint8Array.from({ length: 256 * 3 }, (_, i) => Math.floor(i / 3));
    const floats = rgbFramesToSignedFloat({ data: bytes, frameCount: 1, height: 16, width: 16 }, 'FCHW');
    expect(Array.from(floats.subarray(0, 256))).toEqual(reference.preprocess.signedUnitOfByte);
    expect(Array.from({ length: 256 }, (_, v) => byteToSignedUnit(v))).toEqual(reference.preprocess.signedUnitOfByte);
  });

  it('round-trips every byte through float and back', () => {
    const data = Uint8Array.from({ length: 2 * 8 * 16 * 3 }, (_, i) => (i * 37) % 256);
    const frames = { data, frameCount: 2, height: 8, width: 16 };
    for (const layout of ['CFHW', 'FCHW'] as const) {
      const floats = rgbFramesToSignedFloat(frames, layout);
      expect(signedFloatToRgbFrames(floats, frames, layout).data).toEqual(data);
    }
  });
});

describe('resizePlanes', () => {
  it('matches F.interpolate(align_corners=False) for bicubic and bilinear, up and down', () => {
    const [, c, h, w] = reference.resize.source.shape;
    const source = { data: Float32Array.from(reference.resize.source.data), height: h, width: w };
    for (const expected of reference.resize.cases) {
      const resized = resizePlanes(source, expected, expected.mode);
      expect(resized.data.length).toBe(c * expected.height * expected.width);
      // float32 sums in a different order than ATen's kernel: equal to a few ulps.
      expect(maxAbsDifference(resized.data, expected.data), `${expected.mode} to ${expected.height}×${expected.width}`).toBeLessThan(1e-5);
    }
  });

  it('keeps a constant plane constant', () => {
    const constant = { data: new Float32Array(2 * 5 * 3).fill(0.25), height: 5, width: 3 };
    for (const mode of ['bilinear', 'bicubic'] as const) {
      const resized = resizePlanes(constant, { height: 20, width: 12 }, mode);
      expect(maxAbsDifference(resized.data, new Float32Array(2 * 20 * 12).fill(0.25))).toBeLessThan(1e-6);
    }
  });

  it('refuses planes whose data does not divide into height × width', () => {
    expect(() => resizePlanes({ data: new Float32Array(7), height: 2, width: 2 }, { height: 4, width: 4 }, 'bicubic')).toThrow(
      FrameShapeMismatch,
    );
  });
});
