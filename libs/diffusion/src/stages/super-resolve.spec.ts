import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { modelFolderContractJson } from '@magicvideo/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manifestSchema, type ModelFolderManifest } from '../model-folder/manifest';
import { checkSessionAgainstContract, parseModelFolderContract } from '../model-folder/validate-model-folder';
import { NoisePurpose, seededGaussian, streamId } from '../noise/seeded-noise';
import { scheduleAlphasCumprod } from '../schedulers/betas';
import { openModelFolder, type ModelFolder } from '../sessions/model-folder';
import { OnnxModelRunner, type ModelRunner } from '../sessions/model-runner';
import { SessionThread } from '../sessions/session-thread';
import type { FloatTensor } from '../sessions/tensor-dtypes';
import { SHIPPED_MODEL_FOLDER } from '../sessions/shipped-model-folder.fixture';
import { resizePlanes, rgbFramesToSignedFloat, type RgbFrames } from '../video/frames';
import { StageCancelled } from './stage-cancelled';
import type { StageProgress } from './stage-context';
import {
  augmentedLowResolution,
  superResolutionTilePlan,
  superResolve,
  superResolveToSignedFloat,
  TilingUnsupported,
} from './super-resolve';

/**
 * A small SR U-Net (receptive field 123 pixels) and its manifest keys, written by
 * libs/models' sr_tiling_fixture.py: the shipped model's field is wider than any frame a
 * test can afford to tile.
 */
const SR_TILING_FIXTURE = fileURLToPath(new URL('../../test/fixtures/sr-tiling', import.meta.url));

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

function withSrRunner(
  real: ModelFolder,
  runner: ModelRunner,
  manifest: ModelFolderManifest = real.manifest,
): ModelFolder {
  return { ...real, manifest, has: (name) => name === 'sr_unet', runner: async () => runner };
}

/** The real folder's models under another manifest (its methods live on its prototype: no spread). */
function withManifest(real: ModelFolder, manifest: ModelFolderManifest): ModelFolder {
  return {
    dir: real.dir,
    manifest,
    tokenizer: real.tokenizer,
    has: (name) => real.has(name),
    runner: (name) => real.runner(name),
    close: () => real.close(),
  };
}

/** `manifest` with super_resolution facts of the given size multiple and receptive field radius. */
function withTilingFacts(manifest: ModelFolderManifest, sizeMultiple: number, radius: number): ModelFolderManifest {
  return { ...manifest, super_resolution: { size_multiple: sizeMultiple, receptive_field_radius: radius } };
}

function withoutTilingFacts(manifest: ModelFolderManifest): ModelFolderManifest {
  const { super_resolution: _facts, ...rest } = manifest;
  return rest;
}

/** Records the sizes of the frames a runner is called on. */
function recordingSizes(runner: ModelRunner, sizes: number[][]): ModelRunner {
  return {
    name: runner.name,
    run: async (feeds) => {
      sizes.push([...feeds.sample!.dims]);
      return runner.run(feeds);
    },
  };
}

describe('superResolve', () => {
  let folder: ModelFolder;
  const options = { seed: 11, steps: 2, sampler: 'ddim' as const, noiseLevel: 20 };

  beforeAll(async () => {
    folder = await openModelFolder(SHIPPED_MODEL_FOLDER, { executionProviders: ['cpu'], intraOpNumThreads: 2 });
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

  it('equals the untiled run exactly when one tile covers the frame, with or without tiling facts', async () => {
    const frames = testFrames(2, 16, 16);
    for (const manifest of [withoutTilingFacts(folder.manifest), withTilingFacts(folder.manifest, 16, 267)]) {
      const real = withManifest(folder, manifest);
      const untiled = await superResolveToSignedFloat(real, frames, options);
      const oneTile = await superResolveToSignedFloat(real, frames, { ...options, tileSize: 64 });
      expect(oneTile.data).toEqual(untiled.data);
    }
  });

  it('tiles exactly for a per-pixel model: crops, cores and noise slices line up', async () => {
    const sizes: number[][] = [];
    const manifest = withTilingFacts(folder.manifest, 8, 0);
    const pointwise = withSrRunner(folder, recordingSizes(pointwiseUnet(), sizes), manifest);
    const frames = testFrames(2, 32, 24);
    const untiled = await superResolveToSignedFloat(pointwise, frames, options);
    sizes.length = 0;
    const tiled = await superResolveToSignedFloat(pointwise, frames, { ...options, tileSize: 48 });
    expect(sizes.length).toBe(3 * 2 * options.steps); // 128×96 in cores of 48: 3 rows × 2 columns
    expect(differences(tiled.data, untiled.data).max).toBe(0);
  });

  it('refuses to tile a folder whose manifest lacks the super_resolution facts', async () => {
    const bare = withSrRunner(folder, pointwiseUnet(), withoutTilingFacts(folder.manifest));
    const run = superResolve(bare, testFrames(1, 16, 16), { ...options, tileSize: 32 });
    await expect(run).rejects.toBeInstanceOf(TilingUnsupported);
    await expect(run).rejects.toMatchObject({ code: 'TilingUnsupported' });
  });

  it('tiles only frames over 512×512 by default, and only when the manifest says how', () => {
    const facts = withTilingFacts(folder.manifest, 16, 267);
    expect(superResolutionTilePlan(facts, { height: 512, width: 512 }, undefined).tiles.length).toBe(1);
    const large = superResolutionTilePlan(facts, { height: 1024, width: 1024 }, undefined);
    // cores of 512 with a 272-pixel halo: 2×2 tiles of 784×784
    expect(large.tiles.map((t) => [t.top, t.left, t.height, t.width])).toEqual([
      [0, 0, 784, 784],
      [0, 240, 784, 784],
      [240, 0, 784, 784],
      [240, 240, 784, 784],
    ]);
    const bare = withoutTilingFacts(folder.manifest);
    expect(superResolutionTilePlan(bare, { height: 1024, width: 1024 }, undefined).tiles.length).toBe(1);
  });

  it('rounds the tile size down to the size multiple', () => {
    const facts = withTilingFacts(folder.manifest, 16, 0);
    const plan = superResolutionTilePlan(facts, { height: 64, width: 64 }, 40);
    expect(plan.tiles.map((t) => t.core.width)).toEqual([32, 32, 32, 32]);
    expect(() => superResolutionTilePlan(facts, { height: 64, width: 64 }, 0)).toThrow(RangeError);
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

describe('superResolve tiled with the receptive field as halo', () => {
  let thread: SessionThread;
  let fixture: ModelFolder;
  const options = { seed: 3, steps: 2, sampler: 'ddim' as const, noiseLevel: 20 };

  beforeAll(async () => {
    const shipped = await openModelFolder(SHIPPED_MODEL_FOLDER, { executionProviders: ['cpu'], intraOpNumThreads: 2 });
    await shipped.close(); // only its manifest is used: the fixture's keys replace its SR ones
    const facts = JSON.parse(await readFile(join(SR_TILING_FIXTURE, 'model_index.json'), 'utf8'));
    const manifest = manifestSchema.parse({
      ...shipped.manifest,
      sr_scale: facts.sr_scale,
      super_resolution: facts.super_resolution,
      schedulers: { ...shipped.manifest.schedulers, sr_unet: facts.schedulers.sr_unet },
      models: { ...shipped.manifest.models, sr_unet: facts.models.sr_unet },
    });
    thread = new SessionThread();
    const session = await thread.createSession(join(SR_TILING_FIXTURE, facts.models.sr_unet), {
      executionProviders: ['cpu'],
      intraOpNumThreads: 2,
    });
    const contract = parseModelFolderContract(modelFolderContractJson);
    const violations = checkSessionAgainstContract(contract, 'sr_unet', session.inputMetadata, session.outputMetadata);
    expect(violations).toEqual([]);
    fixture = withSrRunner(shipped, new OnnxModelRunner('sr_unet', facts.models.sr_unet, session), manifest);
  });
  afterAll(async () => {
    await thread?.close();
  });

  it('equals the whole-frame run on 5×5 tiles of a 640×640 frame, and differs with a halo below the field', async () => {
    expect(fixture.manifest.super_resolution).toEqual({ size_multiple: 8, receptive_field_radius: 123 });
    const frames = testFrames(1, 160, 160);
    const sizes: number[][] = [];
    const recording = withSrRunner(fixture, recordingSizes(await fixture.runner('sr_unet'), sizes), fixture.manifest);
    const untiled = await superResolveToSignedFloat(recording, frames, options);
    expect(sizes).toEqual([
      [1, 3, 640, 640],
      [1, 3, 640, 640],
    ]);
    sizes.length = 0;
    const tiled = await superResolveToSignedFloat(recording, frames, { ...options, tileSize: 128 });
    expect(sizes.length).toBe(25 * options.steps);
    expect(Math.max(...sizes.map(([, , height, width]) => height! * width!))).toBe(384 * 384); // core + 2 halos of 128
    const smallHalo = await superResolveToSignedFloat(fixture, frames, { ...options, tileSize: 128 }, { halo: 64 });
    const exact = differences(tiled.data, untiled.data);
    const tooSmall = differences(smallHalo.data, untiled.data);
    console.info(
      `SR 640×640 from 5×5 tiles (core 128, halo 128) vs whole frame: max ${exact.max.toExponential(2)}; ` +
        `halo 64 < radius 123: max ${tooSmall.max.toExponential(2)}, mean ${tooSmall.mean.toExponential(2)}`,
    );
    expect(exact.max).toBeLessThan(1e-5);
    expect(tooSmall.max).toBeGreaterThan(1e-3);
  });
});
