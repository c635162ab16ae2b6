/**
 * The interpolation stage (paper §3.2): between every two neighbouring key frames, the
 * interpolation U-Net samples 3 new latent frames, conditioned on the two neighbours' clean
 * latents (concatenated to the noise inside the model) and on their CLIP image embeddings
 * (cross-attention). 16 key frames become (16 − 1)·4 + 1 = 61 latent frames.
 *
 * All neighbour pairs are one sampling run over a [P, C, 3, h, w] tensor (P = F − 1 pairs), as
 * the Python reference sampler (`sampling.sample` with INTERP_STREAMS, no guidance) runs it: the
 * initial noise is drawn once over that whole tensor (noise purpose 3), step noise per step
 * (purpose 4), and each step's model calls go in batches of `pairBatch` pairs whose outputs are
 * stitched back before the one scheduler step. Batching therefore never changes the result.
 */
import { NoisePurpose, seededGaussian, streamId } from '../noise/seeded-noise';
import { createScheduler, type SchedulerName } from '../schedulers/scheduler';
import type { ModelFolderManifest } from '../model-folder/manifest';
import type { ModelFolder } from '../sessions/model-folder';
import type { FloatTensor } from '../sessions/tensor-dtypes';
import { resizePlanes, type RgbFrames } from '../video/frames';
import { decode, latentVideoDims } from './decode';
import { throwIfCancelled } from './stage-cancelled';
import type { StageContext } from './stage-context';

/** New latent frames the interpolation U-Net makes between two key frames (the contract's fixed `3`). */
export const INTERPOLATED_FRAMES = 3;

export interface InterpolateOptions {
  seed: number;
  steps: number;
  sampler: SchedulerName;
  /** The key frames already decoded (the key-frame stage's preview); decoded here when left out. */
  decodedKeyframes?: RgbFrames;
  /** Neighbour pairs per interp_unet call; all pairs in one call when left out. */
  pairBatch?: number;
}

export interface InterpolationResult {
  /** [1, C, (F − 1)·4 + 1, h, w] scaled diffusion latents, key frames at every 4th index. */
  latents: FloatTensor;
  /** The F decoded key frames, for the preview GIF. */
  keyframePreview: RgbFrames;
}

type ImageEncoderManifest = ModelFolderManifest['image_encoder'];

/**
 * CLIP pixel_values [N, 3, S, S] from RGB frames (docs/models.md: `(pixel / 255 − image_mean) /
 * image_std` per channel, resized to S×S), computed in float32 as PyTorch would.
 * `image_encoder.pixel_values_from_frames` resizes with antialias; resizePlanes has none, which
 * matters only when frames are larger than S (not in the shipped configs, where S is the
 * key-frame size).
 */
export function pixelValuesFromRgbFrames(frames: RgbFrames, imageEncoder: ImageEncoderManifest): FloatTensor {
  const { frameCount, height, width, data } = frames;
  const size = imageEncoder.image_size;
  const plane = height * width;
  let planes: Float32Array = new Float32Array(frameCount * 3 * plane); // [N, 3, H, W] in [0, 1]
  for (let f = 0; f < frameCount; f++) {
    for (let c = 0; c < 3; c++) {
      const target = (f * 3 + c) * plane;
      for (let p = 0; p < plane; p++) planes[target + p] = Math.fround(data[(f * plane + p) * 3 + c]! / 255);
    }
  }
  if (height !== size || width !== size) {
    planes = resizePlanes({ data: planes, height, width }, { height: size, width: size }, 'bicubic').data;
  }
  const sizePlane = size * size;
  for (let f = 0; f < frameCount; f++) {
    for (let c = 0; c < 3; c++) {
      const mean = Math.fround(imageEncoder.image_mean[c]!);
      const std = Math.fround(imageEncoder.image_std[c]!);
      const start = (f * 3 + c) * sizePlane;
      for (let p = start; p < start + sizePlane; p++)
        planes[p] = Math.fround(Math.fround(planes[p]! - mean) / std);
    }
  }
  return { data: planes, dims: [frameCount, 3, size, size] };
}

/** Pairs [first, first + count) of neighbouring key frames: latents [count, C, 2, h, w] from [1, C, F, h, w]. */
export function neighbourPairLatents(
  keyframeLatents: FloatTensor,
  first: number,
  count: number,
): FloatTensor {
  const [, channels = 0, frames = 0, height = 0, width = 0] = keyframeLatents.dims;
  const plane = height * width;
  const out = new Float32Array(count * channels * 2 * plane);
  for (let p = 0; p < count; p++) {
    for (let c = 0; c < channels; c++) {
      for (let k = 0; k < 2; k++) {
        const source = (c * frames + first + p + k) * plane;
        out.set(keyframeLatents.data.subarray(source, source + plane), ((p * channels + c) * 2 + k) * plane);
      }
    }
  }
  return { data: out, dims: [count, channels, 2, height, width] };
}

/** Pairs [first, first + count) of the key frames' image embeddings [F, E] → [count, 2, E], earlier frame first. */
export function neighbourPairEmbeddings(embeddings: FloatTensor, first: number, count: number): FloatTensor {
  const [, size = 0] = embeddings.dims;
  const out = new Float32Array(count * 2 * size);
  for (let p = 0; p < count; p++) {
    out.set(embeddings.data.subarray((first + p) * size, (first + p + 2) * size), p * 2 * size);
  }
  return { data: out, dims: [count, 2, size] };
}

/**
 * Key frames [1, C, F, h, w] and the frames sampled between them [F − 1, C, m, h, w] →
 * [1, C, (F − 1)·(m + 1) + 1, h, w]: k0, m frames, k1, m frames, …, k_{F−1}.
 */
export function interleaveInterpolatedFrames(
  keyframeLatents: FloatTensor,
  between: FloatTensor,
): FloatTensor {
  const [, channels = 0, keyframes = 0, height = 0, width = 0] = keyframeLatents.dims;
  const [pairs, betweenChannels, perPair = 0] = between.dims;
  if (pairs !== keyframes - 1 || betweenChannels !== channels) {
    throw new RangeError(
      `frames between [${between.dims.join(', ')}] do not fit key frames [${keyframeLatents.dims.join(', ')}]`,
    );
  }
  const plane = height * width;
  const stride = perPair + 1;
  const total = (keyframes - 1) * stride + 1;
  const out = new Float32Array(channels * total * plane);
  for (let c = 0; c < channels; c++) {
    for (let f = 0; f < keyframes; f++) {
      const source = (c * keyframes + f) * plane;
      out.set(keyframeLatents.data.subarray(source, source + plane), (c * total + f * stride) * plane);
    }
    for (let p = 0; p < pairs; p++) {
      const source = (p * channels + c) * perPair * plane;
      out.set(between.data.subarray(source, source + perPair * plane), (c * total + p * stride + 1) * plane);
    }
  }
  return { data: out, dims: [1, channels, total, height, width] };
}

async function keyframeEmbeddings(folder: ModelFolder, frames: RgbFrames): Promise<FloatTensor> {
  const encoder = await folder.runner('image_encoder');
  const { image_embeds: embeds } = await encoder.run({
    pixel_values: pixelValuesFromRgbFrames(frames, folder.manifest.image_encoder),
  });
  if (embeds === undefined) throw new Error('image_encoder returned no "image_embeds" output');
  return embeds;
}

/** The interpolation stage: key-frame latents [1, C, F, h, w] → [1, C, (F − 1)·4 + 1, h, w]. */
export async function interpolate(
  folder: ModelFolder,
  keyframeLatents: FloatTensor,
  options: InterpolateOptions,
  ctx: StageContext = {},
): Promise<InterpolationResult> {
  const { manifest } = folder;
  if (manifest.interp_factor !== INTERPOLATED_FRAMES + 1) {
    throw new RangeError(
      `interp_unet makes ${INTERPOLATED_FRAMES} frames per pair, the manifest's interp_factor is ${manifest.interp_factor}`,
    );
  }
  const { channels, frameCount, height, width } = latentVideoDims(
    folder,
    keyframeLatents,
    'key-frame latents',
  );
  if (frameCount < 2) throw new RangeError(`interpolation needs at least 2 key frames, got ${frameCount}`);
  const pairs = frameCount - 1;
  const pairBatch = options.pairBatch ?? pairs;
  if (!Number.isInteger(pairBatch) || pairBatch < 1) {
    throw new RangeError(`pairBatch must be a positive integer, got ${pairBatch}`);
  }

  const keyframePreview =
    options.decodedKeyframes ?? (await decode(folder, keyframeLatents, {}, { signal: ctx.signal }));
  if (keyframePreview.frameCount !== frameCount) {
    throw new RangeError(
      `${keyframePreview.frameCount} decoded key frames for ${frameCount} key-frame latents`,
    );
  }
  throwIfCancelled('interp', ctx.signal);
  const embeddings = await keyframeEmbeddings(folder, keyframePreview);
  const unet = await folder.runner('interp_unet');

  const scheduler = createScheduler(
    options.sampler,
    manifest.schedulers.interp_unet ?? manifest.schedulers.unet,
    {
      numInferenceSteps: options.steps,
    },
  );
  const perPair = channels * INTERPOLATED_FRAMES * height * width;
  const count = pairs * perPair; // [P, C, 3, h, w]
  const sigma = Math.fround(scheduler.initNoiseSigma);
  const initialNoise = seededGaussian(options.seed, streamId(NoisePurpose.interpInitialLatents, 0), count);
  let latents: Float32Array = sigma === 1 ? initialNoise : initialNoise.map((n) => Math.fround(n * sigma));
  const batches: { first: number; size: number; neighbours: FloatTensor; imageEmbeds: FloatTensor }[] = [];
  for (let first = 0; first < pairs; first += pairBatch) {
    const size = Math.min(pairBatch, pairs - first);
    batches.push({
      first,
      size,
      neighbours: neighbourPairLatents(keyframeLatents, first, size),
      imageEmbeds: neighbourPairEmbeddings(embeddings, first, size),
    });
  }

  const totalSteps = scheduler.timesteps.length;
  for (let stepIndex = 0; stepIndex < totalSteps; stepIndex++) {
    throwIfCancelled('interp', ctx.signal);
    const modelInput = scheduler.scaleModelInput(latents, stepIndex);
    const prediction = new Float32Array(count);
    for (const batch of batches) {
      const start = batch.first * perPair;
      const { out_sample: output } = await unet.run({
        sample: {
          data: modelInput.slice(start, start + batch.size * perPair),
          dims: [batch.size, channels, INTERPOLATED_FRAMES, height, width],
        },
        neighbours: batch.neighbours,
        timestep: {
          data: new Float32Array(batch.size).fill(scheduler.timesteps[stepIndex]!),
          dims: [batch.size],
        },
        image_embeds: batch.imageEmbeds,
      });
      if (output === undefined) throw new Error('interp_unet returned no "out_sample" output');
      prediction.set(output.data, start);
    }
    const stepNoise = scheduler.needsNoise
      ? seededGaussian(options.seed, streamId(NoisePurpose.interpStepNoise, stepIndex), count)
      : undefined;
    latents = scheduler.step(prediction, stepIndex, latents, stepNoise);
    ctx.onProgress?.({ stage: 'interp', step: stepIndex + 1, totalSteps });
  }

  const between: FloatTensor = { data: latents, dims: [pairs, channels, INTERPOLATED_FRAMES, height, width] };
  return { latents: interleaveInterpolatedFrames(keyframeLatents, between), keyframePreview };
}
