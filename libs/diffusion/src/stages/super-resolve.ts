/**
 * The super-resolution stage (paper §3.4): pixel-space diffusion from noise to each frame at
 * `sr_scale`× the size, conditioned on the low-resolution frame, as Stable Diffusion's x4
 * upscaler pipeline runs it:
 *
 * 1. each low-res frame is upsampled bicubically to the output size (the model's `low_res`);
 * 2. noise conditioning augmentation (Ho et al. 2022, "Cascaded Diffusion Models"; paper §3.4):
 *    the upsampled frame is noised to level n = `noiseLevel` with the SR schedule's ᾱ,
 *    √ᾱ_n·x + √(1 − ᾱ_n)·ε (noise purpose 7), and n is the model's `noise_level` input;
 * 3. the high-res frame is sampled from noise (purpose 5; step noise purpose 6) without guidance.
 *
 * Every random tensor is a slice of one tensor over all N frames ([N, 3, H, W], drawn with the
 * counter-based generator's offset), so frames may be sampled in batches of `frameBatch` and
 * the result equals one run over all frames (the Python reference sampler with SR_STREAMS).
 *
 * Tiling (tiles.ts): each step's model output is assembled from tiles, each a core plus a halo
 * of the manifest's receptive field radius, of which only the core is kept; the sampler then
 * steps the whole frame with the whole frame's seeded noise. The SR U-Net is local (per-pixel
 * normalisation, no attention), so the tiled output equals the untiled one to float rounding
 * (super-resolve.spec.ts proves it on a small model whose field fits the test frame). Tiling is
 * on by default only for output frames over DEFAULT_SR_TILING_THRESHOLD_PIXELS, or when the
 * caller gives `tileSize`; a folder whose manifest lacks `super_resolution` cannot be tiled.
 */
import { NoisePurpose, seededGaussian, streamId } from '../noise/seeded-noise';
import { scheduleAlphasCumprod } from '../schedulers/betas';
import { addNoiseAtTimestep } from '../schedulers/ddpm';
import { createScheduler, type SchedulerConfig, type SchedulerName } from '../schedulers/scheduler';
import type { ModelFolderManifest } from '../model-folder/manifest';
import type { ModelFolder } from '../sessions/model-folder';
import type { ModelRunner } from '../sessions/model-runner';
import type { FloatTensor } from '../sessions/tensor-dtypes';
import { resizePlanes, rgbFramesToSignedFloat, signedFloatToRgbFrames, type RgbFrames } from '../video/frames';
import { throwIfCancelled } from './stage-cancelled';
import type { StageContext } from './stage-context';
import { cropRegion, exactTilingHalo, pasteTileCore, planTiles, wholeFramePlan, type TilePlan } from './tiles';

export interface SuperResolveOptions {
  seed: number;
  steps: number;
  sampler: SchedulerName;
  /** Augmentation level of the low-res frames, an integer timestep of the SR schedule (manifest `defaults.sr_noise_level`). */
  noiseLevel: number;
  /**
   * Side of the square tile cores the U-Net's output is kept from, in output pixels, rounded down
   * to the manifest's `super_resolution.size_multiple` (at least one multiple); each tile runs
   * with a halo of the receptive field radius around its core. Left out: DEFAULT_SR_TILE_SIZE for
   * frames over DEFAULT_SR_TILING_THRESHOLD_PIXELS, the whole frame otherwise. A tile whose halo
   * reaches across the frame makes one whole-frame run.
   */
  tileSize?: number;
  /** Frames per model call and per sampling run. */
  frameBatch?: number;
}

/**
 * Frames per call when the caller says nothing. On 2 CPU cores the tiny U-Net takes about the
 * same time per 256×256 frame at batch 1, 2 and 4 (~50 ms); batches help accelerators, and the
 * memory of a batch grows with it.
 */
export const DEFAULT_SR_FRAME_BATCH = 4;

/**
 * Tile core size when the caller gives none. A 1024×1024 frame (base's output) in cores of 512
 * makes 2×2 tiles of 512 + halo: 896×896 with base's 384-pixel halo (77% of the whole frame's
 * activations per call, 3.1× its model work), 784×784 with tiny's 272 (59%, 2.3×). Smaller
 * cores barely lower the peak, since a middle tile is core + 2 halos (base at 128: still 896),
 * and multiply the work (tiny at 256: 4×4 tiles, 6.6×).
 */
export const DEFAULT_SR_TILE_SIZE = 512;

/** Output frames with more pixels than this are tiled when the caller gives no `tileSize`. */
export const DEFAULT_SR_TILING_THRESHOLD_PIXELS = 512 * 512;

/** Tiling was asked of a folder whose manifest lacks the `super_resolution` facts exact tiles need. */
export class TilingUnsupported extends Error {
  readonly code = 'TilingUnsupported';
  constructor(detail: string) {
    super(`super-resolution tiling unsupported: ${detail}`);
    this.name = 'TilingUnsupported';
  }
}

/** Tests only: a halo other than the exact one (a too-small halo shows that tiling then differs). */
export interface TilingOverride {
  halo?: number;
}

/**
 * The tiles the SR U-Net runs on for output frames of `frame`'s size (module doc, "Tiling").
 * Without `super_resolution` in the manifest, default tiling falls back to the whole frame
 * (always correct, only larger) and an asked-for `tileSize` smaller than the frame throws
 * TilingUnsupported.
 */
export function superResolutionTilePlan(
  manifest: ModelFolderManifest,
  frame: { height: number; width: number },
  tileSize: number | undefined,
  override: TilingOverride = {},
): TilePlan {
  if (tileSize !== undefined && (!Number.isInteger(tileSize) || tileSize < 1)) {
    throw new RangeError(`tileSize must be a positive integer, got ${tileSize}`);
  }
  const large = frame.height * frame.width > DEFAULT_SR_TILING_THRESHOLD_PIXELS;
  const requested = tileSize ?? (large ? DEFAULT_SR_TILE_SIZE : undefined);
  if (requested === undefined || requested >= Math.max(frame.height, frame.width)) return wholeFramePlan(frame);
  const facts = manifest.super_resolution;
  if (facts === undefined) {
    if (tileSize === undefined) return wholeFramePlan(frame);
    throw new TilingUnsupported(
      `tileSize ${tileSize} for ${frame.height}×${frame.width} frames, but the model_index.json of ` +
        `${manifest.config_name} has no super_resolution (size_multiple, receptive_field_radius)`,
    );
  }
  const sizeMultiple = facts.size_multiple;
  return planTiles(frame, {
    coreSize: Math.max(sizeMultiple, Math.floor(requested / sizeMultiple) * sizeMultiple),
    halo: override.halo ?? exactTilingHalo(facts.receptive_field_radius, sizeMultiple),
    sizeMultiple,
  });
}

/** One batch's sampling inputs: frames [first, first + count) of the video. */
export interface HighResolutionBatch {
  /** The upsampled, noise-augmented low-res frames [count, 3, H, W]. */
  lowRes: Float32Array;
  first: number;
  count: number;
  height: number;
  width: number;
}

export interface HighResolutionSampling {
  seed: number;
  steps: number;
  sampler: SchedulerName;
  noiseLevel: number;
  schedulerConfig: SchedulerConfig;
  plan: TilePlan;
  /** Called after each step with its index (from 0). */
  onStep?: (stepIndex: number, totalSteps: number) => void;
  signal?: AbortSignal;
}

/**
 * Low-res frames [first, first + count) of `lowRes` [N, 3, h, w] → upsampled to H×W and
 * noise-augmented to `noiseLevel` (paper §3.4), [count, 3, H, W].
 */
export function augmentedLowResolution(
  lowRes: Float32Array,
  source: { height: number; width: number },
  batch: { first: number; count: number; height: number; width: number },
  augmentation: { seed: number; noiseLevel: number; alphasCumprod: Float32Array },
): Float32Array {
  const sourcePlanes = 3 * source.height * source.width;
  const frame = batch.first * sourcePlanes;
  const upsampled = resizePlanes(
    { data: lowRes.subarray(frame, frame + batch.count * sourcePlanes), height: source.height, width: source.width },
    { height: batch.height, width: batch.width },
    'bicubic',
  ).data;
  const frameValues = 3 * batch.height * batch.width;
  const noise = seededGaussian(
    augmentation.seed,
    streamId(NoisePurpose.srNoiseAugmentation, 0),
    batch.count * frameValues,
    batch.first * frameValues,
  );
  return addNoiseAtTimestep(augmentation.alphasCumprod, upsampled, noise, augmentation.noiseLevel);
}

/**
 * The SR U-Net's prediction for `sample` [B, 3, H, W]: one run on the whole frame, or, with
 * several tiles, one run per tile (halo included) of which only the core is kept.
 */
async function predict(
  unet: ModelRunner,
  sample: Float32Array,
  lowRes: Float32Array,
  conditions: { timestep: number; noiseLevel: number; count: number; plan: TilePlan; signal?: AbortSignal },
): Promise<Float32Array> {
  const { count, plan } = conditions;
  const frame = { height: plan.height, width: plan.width };
  const run = async (tileSample: Float32Array, tileLowRes: Float32Array, height: number, width: number) => {
    const { out_sample: output } = await unet.run({
      sample: { data: tileSample, dims: [count, 3, height, width] },
      low_res: { data: tileLowRes, dims: [count, 3, height, width] },
      timestep: { data: new Float32Array(count).fill(conditions.timestep), dims: [count] },
      noise_level: { data: new Float32Array(count).fill(conditions.noiseLevel), dims: [count] },
    });
    if (output === undefined) throw new Error('sr_unet returned no "out_sample" output');
    return output.data;
  };
  if (plan.tiles.length === 1) return run(sample, lowRes, plan.height, plan.width);
  const prediction = new Float32Array(sample.length);
  for (const tile of plan.tiles) {
    throwIfCancelled('sr', conditions.signal);
    const output = await run(cropRegion(sample, frame, tile), cropRegion(lowRes, frame, tile), tile.height, tile.width);
    pasteTileCore(prediction, frame, tile, output);
  }
  return prediction;
}

/** Samples one batch of high-res frames [count, 3, H, W] (floats, about [-1, 1]). */
export async function sampleHighResolutionBatch(
  unet: ModelRunner,
  batch: HighResolutionBatch,
  sampling: HighResolutionSampling,
): Promise<Float32Array> {
  const scheduler = createScheduler(sampling.sampler, sampling.schedulerConfig, { numInferenceSteps: sampling.steps });
  const frameValues = 3 * batch.height * batch.width;
  const count = batch.count * frameValues;
  const offset = batch.first * frameValues;
  const sigma = Math.fround(scheduler.initNoiseSigma);
  const initialNoise = seededGaussian(sampling.seed, streamId(NoisePurpose.srInitialNoise, 0), count, offset);
  let sample: Float32Array = sigma === 1 ? initialNoise : initialNoise.map((n) => Math.fround(n * sigma));
  const totalSteps = scheduler.timesteps.length;
  for (let stepIndex = 0; stepIndex < totalSteps; stepIndex++) {
    throwIfCancelled('sr', sampling.signal);
    const prediction = await predict(unet, scheduler.scaleModelInput(sample, stepIndex), batch.lowRes, {
      timestep: scheduler.timesteps[stepIndex]!,
      noiseLevel: sampling.noiseLevel,
      count: batch.count,
      plan: sampling.plan,
      signal: sampling.signal,
    });
    const stepNoise = scheduler.needsNoise
      ? seededGaussian(sampling.seed, streamId(NoisePurpose.srStepNoise, stepIndex), count, offset)
      : undefined;
    sample = scheduler.step(prediction, stepIndex, sample, stepNoise);
    sampling.onStep?.(stepIndex, totalSteps);
  }
  return sample;
}

interface SuperResolutionSetup {
  schedulerConfig: SchedulerConfig;
  alphasCumprod: Float32Array;
  height: number;
  width: number;
  plan: TilePlan;
}

/** What every batch shares: the SR schedule, the output size and the tile plan; options checked. */
function superResolutionSetup(
  folder: ModelFolder,
  frames: RgbFrames,
  options: SuperResolveOptions,
  override: TilingOverride = {},
): SuperResolutionSetup {
  const { manifest } = folder;
  const schedulerConfig = manifest.schedulers.sr_unet ?? manifest.schedulers.unet;
  const trainTimesteps = schedulerConfig.num_train_timesteps;
  if (!Number.isInteger(options.noiseLevel) || options.noiseLevel < 0 || options.noiseLevel >= trainTimesteps) {
    throw new RangeError(`noiseLevel must be an integer in [0, ${trainTimesteps - 1}], got ${options.noiseLevel}`);
  }
  const height = frames.height * manifest.sr_scale;
  const width = frames.width * manifest.sr_scale;
  const plan = superResolutionTilePlan(manifest, { height, width }, options.tileSize, override);
  return { schedulerConfig, alphasCumprod: scheduleAlphasCumprod(schedulerConfig), height, width, plan };
}

/** The SR stage: RGB frames [N, H, W, 3] → [N, H·s, W·s, 3], s = manifest `sr_scale`. */
export async function superResolve(
  folder: ModelFolder,
  frames: RgbFrames,
  options: SuperResolveOptions,
  ctx: StageContext = {},
): Promise<RgbFrames> {
  const { schedulerConfig, alphasCumprod, height, width, plan } = superResolutionSetup(folder, frames, options);
  const frameBatch = options.frameBatch ?? DEFAULT_SR_FRAME_BATCH;
  if (!Number.isInteger(frameBatch) || frameBatch < 1) {
    throw new RangeError(`frameBatch must be a positive integer, got ${frameBatch}`);
  }
  const unet = await folder.runner('sr_unet');
  const lowRes = rgbFramesToSignedFloat(frames, 'FCHW');

  const out = new Uint8Array(frames.frameCount * height * width * 3);
  const batchCount = Math.ceil(frames.frameCount / frameBatch);
  for (let batchIndex = 0; batchIndex < batchCount; batchIndex++) {
    const first = batchIndex * frameBatch;
    const batch = { first, count: Math.min(frameBatch, frames.frameCount - first), height, width };
    const augmented = augmentedLowResolution(lowRes, frames, batch, {
      seed: options.seed,
      noiseLevel: options.noiseLevel,
      alphasCumprod,
    });
    const highRes = await sampleHighResolutionBatch(
      unet,
      { ...batch, lowRes: augmented },
      {
        ...options,
        schedulerConfig,
        plan,
        signal: ctx.signal,
        onStep: (stepIndex, steps) =>
          ctx.onProgress?.({ stage: 'sr', step: batchIndex * steps + stepIndex + 1, totalSteps: batchCount * steps }),
      },
    );
    const rgb = signedFloatToRgbFrames(highRes, { frameCount: batch.count, height, width }, 'FCHW');
    out.set(rgb.data, first * height * width * 3);
  }
  return { data: out, frameCount: frames.frameCount, height, width };
}

/**
 * The high-res floats [N, 3, H·s, W·s] of `frames` in one batch, before the byte conversion
 * (tests compare these; `override` lets them run tiles with a wrong halo).
 */
export async function superResolveToSignedFloat(
  folder: ModelFolder,
  frames: RgbFrames,
  options: SuperResolveOptions,
  override: TilingOverride = {},
): Promise<FloatTensor> {
  const setup = superResolutionSetup(folder, frames, options, override);
  const { schedulerConfig, alphasCumprod, height, width, plan } = setup;
  const batch = { first: 0, count: frames.frameCount, height, width };
  const lowRes = augmentedLowResolution(rgbFramesToSignedFloat(frames, 'FCHW'), frames, batch, {
    seed: options.seed,
    noiseLevel: options.noiseLevel,
    alphasCumprod,
  });
  const highRes = await sampleHighResolutionBatch(
    await folder.runner('sr_unet'),
    { ...batch, lowRes },
    { ...options, schedulerConfig, plan },
  );
  return { data: highRes, dims: [frames.frameCount, 3, height, width] };
}
