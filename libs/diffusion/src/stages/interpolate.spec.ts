import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededGaussian } from '../noise/seeded-noise';
import { openModelFolder, type ModelFolder } from '../sessions/model-folder';
import type { FloatTensor } from '../sessions/tensor-dtypes';
import { SHIPPED_MODEL_FOLDER } from '../sessions/shipped-model-folder.fixture';
import type { RgbFrames } from '../video/frames';
import { decode } from './decode';
import {
  interleaveInterpolatedFrames,
  interpolate,
  neighbourPairEmbeddings,
  neighbourPairLatents,
  pixelValuesFromRgbFrames,
} from './interpolate';
import { StageCancelled } from './stage-cancelled';
import type { StageProgress } from './stage-context';

/** Value of element [c, f, y, x] of a [1, C, F, h, w] tensor. */
function at(tensor: FloatTensor, c: number, f: number, y: number, x: number): number {
  const [, , frames = 0, h = 0, w = 0] = tensor.dims;
  return tensor.data[((c * frames + f) * h + y) * w + x]!;
}

/** Values that name their own position, so a misplaced frame shows. */
function labelled(dims: number[], tag: number): FloatTensor {
  const count = dims.reduce((a, b) => a * b, 1);
  return { data: Float32Array.from({ length: count }, (_, i) => tag + i), dims };
}

function maxAbsDifference(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

describe('latent packing', () => {
  it('puts key frame j at index 4j and the 3 frames of pair p at 4p + 1 … 4p + 3', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 17 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 3 }),
        (frames, channels, size) => {
          const keyframes = labelled([1, channels, frames, size, size], 0);
          const between = labelled([frames - 1, channels, 3, size, size], 1e6);
          const out = interleaveInterpolatedFrames(keyframes, between);
          expect(out.dims).toEqual([1, channels, (frames - 1) * 4 + 1, size, size]);
          for (let c = 0; c < channels; c++) {
            for (let f = 0; f < frames; f++)
              expect(at(out, c, 4 * f, 0, size - 1)).toBe(at(keyframes, c, f, 0, size - 1));
            for (let p = 0; p < frames - 1; p++) {
              for (let m = 0; m < 3; m++) {
                const expected = between.data[((p * channels + c) * 3 + m) * size * size + size - 1]!;
                expect(at(out, c, 4 * p + 1 + m, 0, size - 1)).toBe(expected);
              }
            }
          }
        },
      ),
    );
  });

  it('makes 61 frames of 16 key frames', () => {
    const out = interleaveInterpolatedFrames(labelled([1, 4, 16, 2, 2], 0), labelled([15, 4, 3, 2, 2], 0));
    expect(out.dims[2]).toBe(61);
  });

  it('gives each pair its earlier then its later key frame, latents and embeddings alike', () => {
    const keyframes = labelled([1, 2, 5, 1, 3], 0); // value = ((c·5 + f)·3 + x)
    const pairs = neighbourPairLatents(keyframes, 1, 3);
    expect(pairs.dims).toEqual([3, 2, 2, 1, 3]);
    for (let p = 0; p < 3; p++) {
      for (let c = 0; c < 2; c++) {
        for (let k = 0; k < 2; k++)
          expect(pairs.data[((p * 2 + c) * 2 + k) * 3]).toBe((c * 5 + 1 + p + k) * 3);
      }
    }
    const embeds = neighbourPairEmbeddings(labelled([5, 4], 0), 1, 3);
    expect(embeds.dims).toEqual([3, 2, 4]);
    expect([...embeds.data.subarray(0, 8)]).toEqual([4, 5, 6, 7, 8, 9, 10, 11]);
    expect([...embeds.data.subarray(16, 24)]).toEqual([12, 13, 14, 15, 16, 17, 18, 19]);
  });
});

describe('pixelValuesFromRgbFrames', () => {
  const imageEncoder = {
    image_size: 2,
    embed_dim: 4,
    image_mean: [0.5, 0.25, 0.125],
    image_std: [0.5, 0.25, 2],
  };
  const expected = (byte: number, c: number) =>
    Math.fround(
      Math.fround(Math.fround(byte / 255) - imageEncoder.image_mean[c]!) / imageEncoder.image_std[c]!,
    );

  it('normalises bytes CLIP-style, (pixel / 255 − mean) / std per channel, channel first', () => {
    const square: RgbFrames = {
      data: Uint8Array.from([0, 51, 255, 10, 20, 30, 40, 50, 60, 70, 80, 90]),
      frameCount: 1,
      height: 2,
      width: 2,
    };
    const values = pixelValuesFromRgbFrames(square, imageEncoder);
    expect(values.dims).toEqual([1, 3, 2, 2]);
    expect([...values.data.subarray(0, 4)]).toEqual([0, 10, 40, 70].map((b) => expected(b, 0)));
    expect([...values.data.subarray(4, 8)]).toEqual([51, 20, 50, 80].map((b) => expected(b, 1)));
    expect([...values.data.subarray(8, 12)]).toEqual([255, 30, 60, 90].map((b) => expected(b, 2)));
  });

  it('resizes frames of another size to S×S first', () => {
    const flat: RgbFrames = {
      data: new Uint8Array(2 * 6 * 6 * 3).fill(128),
      frameCount: 2,
      height: 6,
      width: 6,
    };
    const values = pixelValuesFromRgbFrames(flat, imageEncoder);
    expect(values.dims).toEqual([2, 3, 2, 2]);
    for (let i = 0; i < values.data.length; i++) {
      expect(values.data[i]).toBeCloseTo(expected(128, Math.floor(i / 4) % 3), 5);
    }
  });
});

describe('interpolate (the shipped model folder)', () => {
  let folder: ModelFolder;
  let keyframeLatents: FloatTensor;
  let decodedKeyframes: RgbFrames;
  const options = { seed: 7, steps: 2, sampler: 'ddim' as const };

  beforeAll(async () => {
    folder = await openModelFolder(SHIPPED_MODEL_FOLDER, { executionProviders: ['cpu'], intraOpNumThreads: 2 });
    const { latent_channels: channels, frames, sample_size: size, vae_scale_factor: scale } = folder.manifest;
    const dims = [1, channels, frames, size.height / scale, size.width / scale];
    keyframeLatents = {
      data: seededGaussian(
        3,
        1,
        dims.reduce((a, b) => a * b, 1),
      ),
      dims,
    };
    decodedKeyframes = await decode(folder, keyframeLatents, {});
  });
  afterAll(async () => {
    await folder?.close();
  });

  it('makes (F − 1)·4 + 1 frames with the key frames unchanged at every 4th index', async () => {
    const { latents, keyframePreview } = await interpolate(folder, keyframeLatents, {
      ...options,
      decodedKeyframes,
    });
    const [, channels = 0, frames = 0, h = 0, w = 0] = keyframeLatents.dims;
    expect(frames).toBe(16);
    expect(latents.dims).toEqual([1, channels, 61, h, w]);
    for (let c = 0; c < channels; c++) {
      for (let f = 0; f < frames; f++) {
        for (let y = 0; y < h; y++) {
          for (let x = 0; x < w; x++)
            expect(at(latents, c, 4 * f, y, x)).toBe(at(keyframeLatents, c, f, y, x));
        }
      }
    }
    expect(latents.data.every(Number.isFinite)).toBe(true);
    expect(keyframePreview).toBe(decodedKeyframes);
  });

  it('is deterministic by seed, and the seed matters', async () => {
    const first = await interpolate(folder, keyframeLatents, { ...options, decodedKeyframes });
    const again = await interpolate(folder, keyframeLatents, { ...options, decodedKeyframes });
    const otherSeed = await interpolate(folder, keyframeLatents, { ...options, seed: 8, decodedKeyframes });
    expect(again.latents.data).toEqual(first.latents.data);
    // the seed is used, but the trained interpolator (a correction to the key frames' blend) nearly
    // determines the middle frames from their neighbours: another seed moves them by about 1e-3
    expect(maxAbsDifference(otherSeed.latents.data, first.latents.data)).toBeGreaterThan(1e-4);
  });

  it('gives the same frames however the pairs are batched', async () => {
    const together = await interpolate(folder, keyframeLatents, { ...options, decodedKeyframes });
    const inFours = await interpolate(folder, keyframeLatents, {
      ...options,
      decodedKeyframes,
      pairBatch: 4,
    });
    expect(maxAbsDifference(inFours.latents.data, together.latents.data)).toBeLessThan(1e-4);
  });

  it('decodes the key frames itself when not given them, for the preview', async () => {
    const { keyframePreview, latents } = await interpolate(folder, keyframeLatents, { ...options, steps: 1 });
    expect(keyframePreview.data).toEqual(decodedKeyframes.data);
    const given = await interpolate(folder, keyframeLatents, { ...options, steps: 1, decodedKeyframes });
    expect(latents.data).toEqual(given.latents.data);
  });

  it('reports each denoising step and stops between steps when aborted', async () => {
    const progress: StageProgress[] = [];
    await interpolate(
      folder,
      keyframeLatents,
      { ...options, steps: 3, decodedKeyframes },
      { onProgress: (p) => progress.push(p) },
    );
    expect(progress.map((p) => [p.stage, p.step, p.totalSteps])).toEqual([
      ['interp', 1, 3],
      ['interp', 2, 3],
      ['interp', 3, 3],
    ]);
    const controller = new AbortController();
    let steps = 0;
    const run = interpolate(
      folder,
      keyframeLatents,
      { ...options, steps: 3, decodedKeyframes },
      {
        signal: controller.signal,
        onProgress: () => {
          steps++;
          controller.abort();
        },
      },
    );
    await expect(run).rejects.toBeInstanceOf(StageCancelled);
    expect(steps).toBe(1);
  });
});
