import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NoisePurpose, seededGaussian, streamId } from '../noise/seeded-noise';
import { scheduleAlphasCumprod } from '../schedulers/betas';
import { openModelFolder, type ModelFolder } from '../sessions/model-folder';
import type { ModelRunner } from '../sessions/model-runner';
import type { FloatTensor } from '../sessions/tensor-dtypes';
import { TINY_MODEL_FOLDER } from '../sessions/tiny-model-folder.fixture';
import { resizePlanes, rgbFramesToSignedFloat, type RgbFrames } from '../video/frames';
import { StageCancelled } from './stage-cancelled';
import type { StageProgress } from './stage-context';
import { augmentedLowResolution, superResolve, superResolveToSignedFloat } from './super-resolve';

/** Smooth frames with a little texture: gradients plus a checker. */
function testFrames(frameCount: number, height: number, width: number): RgbFrames {
  const data = new Uint8Array(frameCount * height * width * 3);
  for (let f = 0; f < frameCount; f++) {
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const i = ((f * height + y) * width + x) * 3;
        data[i] = (x * 255) / (width - 1);
        data[i + 1] = (y * 255) / (height - 1);
        data[i + 2] = ((x + y + f) % 4) * 60;
      }
    }
  }
  return { data, frameCount, height, width };
}

function differences(a: ArrayLike<number>, b: ArrayLike<number>): { max: number; mean: number } {
  expect(a.length).toBe(b.length);
  let max = 0;
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    max = Math.max(max, d);
    sum += d;
  }
  return { max, mean: sum / a.length };
}

/**
 * A per-pixel stand-in for the SR U-Net (no receptive field, no normalisation): through it,
 * tiling must be exact, so any error in cropping, blending or noise slicing shows.
 */
function pointwiseUnet(calls: Record<string, FloatTensor>[] = []): ModelRunner {
  return {
    name: 'sr_unet',
    run: async (feeds) => {
      calls.push(feeds as Record<string, FloatTensor>);
      const sample = feeds.sample!.data as Float32Array;
      const lowRes = feeds.low_res!.data as Float32Array;
      const t = (feeds.timestep!.data as Float32Array)[0]! / 1000;
      const out = sample.map((x, i) => Math.tanh(x * t - lowRes[i]! * 0.3));
      return { out_sample: { data: out, dims: [...feeds.sample!.dims] } };
    },
  };
}

function withSrRunner(real: ModelFolder, runner: ModelRunner): ModelFolder {
  return { ...real, has: (name) => name === 'sr_unet', runner: async () => runner };
}

describe('superResolve', () => {
  let folder: ModelFolder;
  const options = { seed: 11, steps: 2, sampler: 'ddim' as const, noiseLevel: 20 };

  beforeAll(async () => {
    folder = await openModelFolder(TINY_MODEL_FOLDER, { executionProviders: ['cpu'], intraOpNumThreads: 2 });
  });
  afterAll(async () => {
    await folder?.close();
  });

  it('augments the bicubically upsampled low-res frames with the SR schedule at the noise level (paper §3.4)', () => {
    const frames = testFrames(3, 4, 4);
    const lowRes = rgbFramesToSignedFloat(frames, 'FCHW');
    const alphasCumprod = scheduleAlphasCumprod(folder.manifest.schedulers.sr_unet!);
    const noiseLevel = 250;
    const augmented = augmentedLowResolution(lowRes, frames, { first: 1, count: 2, height: 16, width: 16 }, {
      seed: 5,
      noiseLevel,
      alphasCumprod,
    });
    const upsampled = resizePlanes({ data: lowRes, height: 4, width: 4 }, { height: 16, width: 16 }, 'bicubic').data;
    const frameValues = 3 * 16 * 16;
    const noise = seededGaussian(5, streamId(NoisePurpose.srNoiseAugmentation), 3 * frameValues);
    const alpha = alphasCumprod[noiseLevel]!;
    for (let i = 0; i < 2 * frameValues; i += 37) {
      const j = frameValues + i; // frame 1 of the whole video
      expect(augmented[i]).toBeCloseTo(Math.sqrt(alpha) * upsampled[j]! + Math.sqrt(1 - alpha) * noise[j]!, 5);
    }
  });

  it('refuses a noise level outside the schedule', async () => {
    await expect(superResolve(folder, testFrames(1, 8, 8), { ...options, noiseLevel: 1000 })).rejects.toThrow(RangeError);
    await expect(superResolve(folder, testFrames(1, 8, 8), { ...options, noiseLevel: 2.5 })).rejects.toThrow(RangeError);
  });

  it('feeds the model the timestep and the noise level for every frame of the batch', async () => {
    const calls: Record<string, FloatTensor>[] = [];
    await superResolve(withSrRunner(folder, pointwiseUnet(calls)), testFrames(3, 8, 8), { ...options, frameBatch: 2 });
    expect(calls.length).toBe(2 * options.steps);
    expect(calls.map((c) => c.sample!.dims)).toEqual([
      [2, 3, 32, 32],
      [2, 3, 32, 32],
      [1, 3, 32, 32],
      [1, 3, 32, 32],
    ]);
    for (const call of calls) expect([...call.noise_level!.data]).toEqual(new Array(call.sample!.dims[0]).fill(20));
    expect(calls[0]!.timestep!.data[0]).toBeGreaterThan(calls[1]!.timestep!.data[0]!);
  });

  it('makes frames sr_scale times larger, deterministic by seed', async () => {
    const frames = testFrames(2, 16, 16);
    const scale = folder.manifest.sr_scale;
    const first = await superResolve(folder, frames, options);
    expect(first).toMatchObject({ frameCount: 2, height: 16 * scale, width: 16 * scale });
    expect(first.data.length).toBe(2 * 16 * scale * 16 * scale * 3);
    const again = await superResolve(folder, frames, options);
    expect(again.data).toEqual(first.data);
    const otherSeed = await superResolve(folder, frames, { ...options, seed: 12 });
    expect(differences(otherSeed.data, first.data).mean).toBeGreaterThan(1);
  });

  it('gives the same frames however they are batched (noise drawn as slices of one tensor)', async () => {
    const frames = testFrames(3, 16, 16);
    const together = await superResolve(folder, frames, { ...options, frameBatch: 3 });
    const oneByOne = await superResolve(folder, frames, { ...options, frameBatch: 1 });
    const { max, mean } = differences(oneByOne.data, together.data);
    expect(max).toBeLessThanOrEqual(1); // a float32 kernel difference may flip one rounding
    expect(mean).toBeLessThan(1e-3);
  });

  it('equals the untiled run exactly when one tile covers the frame', async () => {
    const frames = testFrames(2, 16, 16);
    const untiled = await superResolveToSignedFloat(folder, frames, options);
    const oneTile = await superResolveToSignedFloat(folder, frames, { ...options, tileSize: 64, tileOverlap: 16 });
    expect(oneTile.data).toEqual(untiled.data);
  });

  it('tiles exactly for a per-pixel model: crops, blend weights and noise slices line up', async () => {
    const pointwise = withSrRunner(folder, pointwiseUnet());
    const frames = testFrames(2, 32, 24);
    const untiled = await superResolveToSignedFloat(pointwise, frames, options);
    const tiled = await superResolveToSignedFloat(pointwise, frames, { ...options, tileSize: 64, tileOverlap: 32 });
    expect(differences(tiled.data, untiled.data).max).toBeLessThan(1e-5);
  });

  it('stays near the untiled run with the real U-Net, though GroupNorm makes tiles inexact', async () => {
    // The SR U-Net's GroupNorm normalises over each call's whole extent, so no overlap makes
    // tiles exact. The yardstick is how far another seed moves the output: misplaced tiles or
    // noise would move it that far.
    const frames = testFrames(1, 48, 48);
    const untiled = await superResolveToSignedFloat(folder, frames, options);
    const tiled = await superResolveToSignedFloat(folder, frames, { ...options, tileSize: 128, tileOverlap: 64 });
    const otherSeed = await superResolveToSignedFloat(folder, frames, { ...options, seed: options.seed + 1 });
    const tiling = differences(tiled.data, untiled.data);
    const seed = differences(otherSeed.data, untiled.data);
    console.info(
      `SR 192×192, 2×2 tiles of 128 (overlap 64) vs whole frame: max ${tiling.max.toFixed(3)}, mean ${tiling.mean.toFixed(4)}; ` +
        `another seed: mean ${seed.mean.toFixed(4)}`,
    );
    expect(tiling.mean).toBeGreaterThan(0);
    expect(tiling.mean).toBeLessThan(0.4 * seed.mean);
  });

  it('reports every step of every batch and stops between steps when aborted', async () => {
    const fake = withSrRunner(folder, pointwiseUnet());
    const progress: StageProgress[] = [];
    await superResolve(fake, testFrames(3, 8, 8), { ...options, frameBatch: 2 }, { onProgress: (p) => progress.push(p) });
    expect(progress.map((p) => [p.stage, p.step, p.totalSteps])).toEqual([
      ['sr', 1, 4],
      ['sr', 2, 4],
      ['sr', 3, 4],
      ['sr', 4, 4],
    ]);
    const controller = new AbortController();
    const run = superResolve(fake, testFrames(3, 8, 8), { ...options, frameBatch: 2 }, {
      signal: controller.signal,
      onProgress: () => controller.abort(),
    });
    await expect(run).rejects.toBeInstanceOf(StageCancelled);
  });
});
