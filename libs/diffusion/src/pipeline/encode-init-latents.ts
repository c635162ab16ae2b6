import { NoisePurpose, seededGaussian, streamId } from '../noise/seeded-noise';
import type { ModelFolder } from '../sessions/model-folder';
import type { FloatTensor } from '../sessions/tensor-dtypes';
import { throwIfCancelled } from '../stages/stage-cancelled';
import { resizePlanes, rgbFramesToSignedFloat, type Planes, type RgbFrames } from '../video/frames';

/**
 * Init latents for image-to-video and video editing (paper §4.3): the input's frames at the
 * key-frame size, VAE-encoded, a sample of each frame's posterior, scaled to diffusion latents.
 * The key-frame stage then noises them to the request's strength (SDEdit) and denoises from there.
 */

const LATENT_PARAMETERS = 'latent_parameters';
// diffusers' DiagonalGaussianDistribution clamps the log-variance to this range
const LOG_VARIANCE_MIN = -30;
const LOG_VARIANCE_MAX = 20;

/** `count` frame indices spread evenly over `available` frames, first and last included. */
export function uniformFrameIndices(available: number, count: number): number[] {
  if (available < 1) throw new RangeError('no frames to sample from');
  if (count === 1 || available === 1) return Array.from({ length: count }, () => 0);
  return Array.from({ length: count }, (_, i) => Math.round((i * (available - 1)) / (count - 1)));
}

function selectFrames(frames: RgbFrames, indices: readonly number[]): RgbFrames {
  const frameBytes = frames.height * frames.width * 3;
  const data = new Uint8Array(indices.length * frameBytes);
  indices.forEach((index, i) => data.set(frames.data.subarray(index * frameBytes, (index + 1) * frameBytes), i * frameBytes));
  return { data, frameCount: indices.length, height: frames.height, width: frames.width };
}

/** The largest centred window of `planes` with the aspect ratio of `size` (nothing stretched). */
function centreCrop(planes: Planes, size: { height: number; width: number }): Planes {
  const { height, width, data } = planes;
  const cropWidth = Math.min(width, Math.round((height * size.width) / size.height));
  const cropHeight = Math.min(height, Math.round((width * size.height) / size.width));
  if (cropWidth === width && cropHeight === height) return planes;
  const top = Math.floor((height - cropHeight) / 2);
  const left = Math.floor((width - cropWidth) / 2);
  const planeCount = data.length / (height * width);
  const out = new Float32Array(planeCount * cropHeight * cropWidth);
  for (let p = 0; p < planeCount; p++) {
    for (let y = 0; y < cropHeight; y++) {
      const source = (p * height + top + y) * width + left;
      out.set(data.subarray(source, source + cropWidth), (p * cropHeight + y) * cropWidth);
    }
  }
  return { data: out, height: cropHeight, width: cropWidth };
}

/**
 * Each output pixel the mean of the input pixels its area covers (torch's adaptive average
 * pooling): a downscale without the aliasing bilinear sampling gives when shrinking a lot.
 */
function areaDownscale(planes: Planes, size: { height: number; width: number }): Planes {
  const { height, width, data } = planes;
  const planeCount = data.length / (height * width);
  const out = new Float32Array(planeCount * size.height * size.width);
  const span = (i: number, inSize: number, outSize: number): [number, number] => [
    Math.floor((i * inSize) / outSize),
    Math.ceil(((i + 1) * inSize) / outSize),
  ];
  for (let p = 0; p < planeCount; p++) {
    for (let y = 0; y < size.height; y++) {
      const [y0, y1] = span(y, height, size.height);
      for (let x = 0; x < size.width; x++) {
        const [x0, x1] = span(x, width, size.width);
        let sum = 0;
        for (let sy = y0; sy < y1; sy++) for (let sx = x0; sx < x1; sx++) sum += data[(p * height + sy) * width + sx]!;
        out[(p * size.height + y) * size.width + x] = sum / ((y1 - y0) * (x1 - x0));
      }
    }
  }
  return { data: out, height: size.height, width: size.width };
}

/** RGB frames to float frames [N, 3, H, W] in [-1, 1] at `size`, centre-cropped to its aspect ratio. */
export function framesAtSize(frames: RgbFrames, size: { height: number; width: number }): Planes {
  const full: Planes = { data: rgbFramesToSignedFloat(frames, 'FCHW'), height: frames.height, width: frames.width };
  const cropped = centreCrop(full, size);
  if (cropped.height === size.height && cropped.width === size.width) return cropped;
  const shrinking = cropped.height >= size.height && cropped.width >= size.width;
  return shrinking ? areaDownscale(cropped, size) : resizePlanes(cropped, size, 'bilinear');
}

/**
 * Init latents [1, C, F, h, w] (scaled) from an image (its latent repeated on every key frame)
 * or a video (F frames sampled uniformly). Posterior noise: stream (vaePosteriorSample, 0).
 */
export async function encodeInitLatents(
  folder: ModelFolder,
  frames: RgbFrames,
  options: { seed: number; source: 'image' | 'video' },
  ctx: { signal?: AbortSignal } = {},
): Promise<FloatTensor> {
  const { manifest } = folder;
  const keyframeCount = manifest.frames;
  const size = manifest.sample_size;
  const encodeCount = options.source === 'image' ? 1 : keyframeCount;
  const pixels = framesAtSize(selectFrames(frames, uniformFrameIndices(frames.frameCount, encodeCount)), size);
  throwIfCancelled('init', ctx.signal);
  const encoder = await folder.runner('vae_encoder');
  const outputs = await encoder.run({ frames: { data: pixels.data, dims: [encodeCount, 3, size.height, size.width] } });
  const parameters = outputs[LATENT_PARAMETERS];
  if (parameters === undefined) throw new Error(`vae_encoder returned no ${LATENT_PARAMETERS}`);
  const [, twiceChannels, h, w] = parameters.dims as [number, number, number, number];
  const channels = twiceChannels / 2;
  const plane = h * w;
  const noise = seededGaussian(options.seed, streamId(NoisePurpose.vaePosteriorSample, 0), encodeCount * channels * plane);

  // [encodeCount, 2C, h, w] → sample z = mean + exp(logvar / 2)·ε → [1, C, F, h, w] × scaling
  const latents = new Float32Array(channels * keyframeCount * plane);
  for (let f = 0; f < keyframeCount; f++) {
    const encoded = options.source === 'image' ? 0 : f;
    for (let c = 0; c < channels; c++) {
      const meanAt = (encoded * twiceChannels + c) * plane;
      const logVarianceAt = (encoded * twiceChannels + channels + c) * plane;
      const noiseAt = (encoded * channels + c) * plane;
      const target = (c * keyframeCount + f) * plane;
      for (let p = 0; p < plane; p++) {
        const logVariance = Math.min(LOG_VARIANCE_MAX, Math.max(LOG_VARIANCE_MIN, parameters.data[logVarianceAt + p]!));
        const sample = parameters.data[meanAt + p]! + Math.exp(0.5 * logVariance) * noise[noiseAt + p]!;
        latents[target + p] = sample * manifest.latent_scaling_factor;
      }
    }
  }
  return { data: latents, dims: [1, channels, keyframeCount, h, w] };
}
