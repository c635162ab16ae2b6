/**
 * The decode stage: diffusion latents → RGB frames with the VideoVAE decoder (paper §3.3).
 *
 * Latents are decoded in temporal chunks so memory stays bounded however many frames the video
 * has (61 after interpolation). Each chunk carries `vae.decoder_context_frames` latent frames of
 * left context whose outputs are dropped: the decoder's temporal attention is directed and
 * windowed, so every kept frame sees exactly the latent frames a whole decode would show it
 * (frame-chunks.ts), and the chunked video equals the whole decode up to float32 kernel noise.
 */
import type { ModelFolder } from '../sessions/model-folder';
import type { FloatTensor } from '../sessions/tensor-dtypes';
import { signedFloatToRgbFrames, type RgbFrames } from '../video/frames';
import { planFrameChunks } from './frame-chunks';
import { throwIfCancelled } from './stage-cancelled';
import type { StageContext } from './stage-context';

export interface DecodeOptions {
  /** Output frames decoded per vae_decoder call (besides the left context). */
  chunkFrames?: number;
}

/**
 * Output frames per call when the caller says nothing. With tiny's 14 context frames a 61-frame
 * video decodes 105 latent frames in 4 calls (about 0.7 s on 2 CPU cores) and each call holds
 * at most 30 frames' activations; a larger chunk wastes less on context and holds more.
 */
export const DEFAULT_DECODE_CHUNK_FRAMES = 16;

/** Latent video dims [1, C, N, h, w], checked against the manifest. */
export function latentVideoDims(folder: ModelFolder, latents: FloatTensor, what: string) {
  const [batch, channels, frameCount, height, width] = latents.dims;
  const expectedChannels = folder.manifest.latent_channels;
  if (
    latents.dims.length !== 5 ||
    batch !== 1 ||
    channels !== expectedChannels ||
    frameCount === undefined ||
    height === undefined ||
    width === undefined ||
    latents.data.length !== channels * frameCount * height * width
  ) {
    throw new RangeError(
      `${what} must be [1, ${expectedChannels}, N, h, w] with matching data, got [${latents.dims.join(', ')}] and ${latents.data.length} values`,
    );
  }
  return { channels, frameCount, height, width };
}

/** Frames [from, to) of [1, C, N, h, w] latents, divided by the scaling factor: unscaled VAE latents. */
function unscaledFrames(latents: FloatTensor, from: number, to: number, scalingFactor: number): FloatTensor {
  const [, channels = 0, frameCount = 0, height = 0, width = 0] = latents.dims;
  const plane = height * width;
  const factor = Math.fround(scalingFactor);
  const out = new Float32Array(channels * (to - from) * plane);
  for (let c = 0; c < channels; c++) {
    const source = (c * frameCount + from) * plane;
    const target = c * (to - from) * plane;
    for (let i = 0; i < (to - from) * plane; i++) out[target + i] = Math.fround(latents.data[source + i]! / factor);
  }
  return { data: out, dims: [1, channels, to - from, height, width] };
}

/**
 * Decodes scaled diffusion latents [1, C, N, h, w] to float frames [1, 3, N, H, W] in [-1, 1],
 * chunk by chunk. Progress is one step per chunk.
 */
export async function decodeToSignedFloat(
  folder: ModelFolder,
  latents: FloatTensor,
  options: DecodeOptions = {},
  ctx: StageContext = {},
): Promise<FloatTensor> {
  const { frameCount } = latentVideoDims(folder, latents, 'latents');
  const chunkFrames = options.chunkFrames ?? DEFAULT_DECODE_CHUNK_FRAMES;
  const chunks = planFrameChunks(frameCount, chunkFrames, folder.manifest.vae.decoder_context_frames);
  const decoder = await folder.runner('vae_decoder');
  let frames: Float32Array | undefined;
  let outDims: number[] = [];
  for (const [index, chunk] of chunks.entries()) {
    throwIfCancelled('decode', ctx.signal);
    const input = unscaledFrames(latents, chunk.contextStart, chunk.end, folder.manifest.latent_scaling_factor);
    const { frames: decoded } = await decoder.run({ latents: input });
    if (decoded === undefined) throw new Error('vae_decoder returned no "frames" output');
    const [, rgb, chunkFrameCount, height, width] = decoded.dims;
    if (rgb !== 3 || chunkFrameCount !== chunk.end - chunk.contextStart || height === undefined || width === undefined) {
      throw new Error(`vae_decoder returned frames [${decoded.dims.join(', ')}] for ${chunkFrameCount} latent frames`);
    }
    const plane = height * width;
    if (frames === undefined) {
      outDims = [1, 3, frameCount, height, width];
      frames = new Float32Array(3 * frameCount * plane);
    }
    const kept = chunk.end - chunk.start;
    const skipped = chunk.start - chunk.contextStart;
    for (let c = 0; c < 3; c++) {
      const source = (c * chunkFrameCount + skipped) * plane;
      frames.set(decoded.data.subarray(source, source + kept * plane), (c * frameCount + chunk.start) * plane);
    }
    ctx.onProgress?.({ stage: 'decode', step: index + 1, totalSteps: chunks.length });
  }
  if (frames === undefined) throw new RangeError('latents hold no frames to decode');
  return { data: frames, dims: outDims };
}

/** The decode stage: scaled diffusion latents [1, C, N, h, w] → RGB frames [N, H, W, 3]. */
export async function decode(
  folder: ModelFolder,
  latents: FloatTensor,
  options: DecodeOptions = {},
  ctx: StageContext = {},
): Promise<RgbFrames> {
  const frames = await decodeToSignedFloat(folder, latents, options, ctx);
  const [, , frameCount = 0, height = 0, width = 0] = frames.dims;
  return signedFloatToRgbFrames(frames.data, { frameCount, height, width }, 'CFHW');
}
