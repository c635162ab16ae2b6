import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededGaussian } from '../noise/seeded-noise';
import { openModelFolder, type ModelFolder } from '../sessions/model-folder';
import type { ModelName, ModelRunner } from '../sessions/model-runner';
import type { FloatTensor } from '../sessions/tensor-dtypes';
import { SHIPPED_MODEL_FOLDER } from '../sessions/shipped-model-folder.fixture';
import { decode, decodeToSignedFloat } from './decode';
import { StageCancelled } from './stage-cancelled';
import type { StageProgress } from './stage-context';

function maxAbsDifference(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

function randomLatents(channels: number, frames: number, height: number, width: number, seed: number): FloatTensor {
  return { data: seededGaussian(seed, 1, channels * frames * height * width), dims: [1, channels, frames, height, width] };
}

/**
 * A stand-in decoder with the VideoVAE's dependency structure and a strong temporal effect:
 * output frame i = tanh(latent frame i + Σ of latent frames i−K … i−1), K = contextFrames, each
 * latent cell repeated over a `scale`×`scale` block. Dropping context changes its output by a
 * known margin, whatever the shipped decoder's weights make of earlier frames.
 */
function windowedCausalDecoder(contextFrames: number, scale: number): ModelRunner {
  return {
    name: 'vae_decoder',
    run: async ({ latents }) => {
      const [, , frames = 0, h = 0, w = 0] = latents!.dims;
      const data = latents!.data as Float32Array;
      const height = h * scale;
      const width = w * scale;
      const out = new Float32Array(3 * frames * height * width);
      for (let c = 0; c < 3; c++) {
        for (let f = 0; f < frames; f++) {
          for (let y = 0; y < height; y++) {
            for (let x = 0; x < width; x++) {
              let sum = 0;
              for (let g = Math.max(0, f - contextFrames); g <= f; g++) {
                sum += data[((c * frames + g) * h + Math.floor(y / scale)) * w + Math.floor(x / scale)]!;
              }
              out[((c * frames + f) * height + y) * width + x] = Math.tanh(sum);
            }
          }
        }
      }
      return { frames: { data: out, dims: [1, 3, frames, height, width] } };
    },
  };
}

/** The real folder's manifest, its models replaced by `runners`, its decoder context by `contextFrames`. */
function folderWithRunners(
  real: ModelFolder,
  runners: Partial<Record<ModelName, ModelRunner>>,
  contextFrames: number,
): ModelFolder {
  const manifest = { ...real.manifest, vae: { ...real.manifest.vae, decoder_context_frames: contextFrames } };
  return {
    dir: real.dir,
    manifest,
    tokenizer: real.tokenizer,
    has: (name) => runners[name] !== undefined,
    runner: async (name) => {
      const runner = runners[name];
      if (runner === undefined) throw new Error(`no ${name} in this test folder`);
      return runner;
    },
    close: async () => undefined,
  };
}

let folder: ModelFolder;
beforeAll(async () => {
  folder = await openModelFolder(SHIPPED_MODEL_FOLDER, { executionProviders: ['cpu'], intraOpNumThreads: 2 });
});
afterAll(async () => {
  await folder?.close();
});

describe('decode', () => {
  it('decodes in chunks with left context exactly as a whole decode, with the real decoder', async () => {
    const { latent_channels: channels, sample_size: size, vae_scale_factor: scale } = folder.manifest;
    const latents = randomLatents(channels, 21, size.height / scale, size.width / scale, 5);
    const whole = await decodeToSignedFloat(folder, latents, { chunkFrames: 21 });
    const chunked = await decodeToSignedFloat(folder, latents, { chunkFrames: 5 });
    expect(chunked.dims).toEqual([1, 3, 21, size.height, size.width]);
    expect(maxAbsDifference(chunked.data, whole.data)).toBeLessThan(1e-4);
  });

  it('needs the left context: chunks without it differ from the whole decode, with it they equal it', async () => {
    const context = 4;
    const latents = randomLatents(4, 23, 2, 3, 11);
    const withContext = folderWithRunners(folder, { vae_decoder: windowedCausalDecoder(context, 2) }, context);
    const withoutContext = folderWithRunners(folder, { vae_decoder: windowedCausalDecoder(context, 2) }, 0);
    const whole = await decodeToSignedFloat(withContext, latents, { chunkFrames: 23 });
    for (const chunkFrames of [1, 3, 7, 22]) {
      const chunked = await decodeToSignedFloat(withContext, latents, { chunkFrames });
      expect(maxAbsDifference(chunked.data, whole.data)).toBe(0);
      const blind = await decodeToSignedFloat(withoutContext, latents, { chunkFrames });
      expect(maxAbsDifference(blind.data, whole.data)).toBeGreaterThan(0.01);
    }
  });

  it('divides by the latent scaling factor before the decoder', async () => {
    const seen: number[] = [];
    const recorder: ModelRunner = {
      name: 'vae_decoder',
      run: async ({ latents }) => {
        seen.push(...(latents!.data as Float32Array));
        return windowedCausalDecoder(0, 1).run({ latents: latents! });
      },
    };
    const scaled = folderWithRunners(folder, { vae_decoder: recorder }, 0);
    const manifest = { ...scaled.manifest, latent_scaling_factor: 0.5 };
    const latents = Float32Array.from([1, -3, 0.25, 7, -0.5, 2, 3, -1]);
    await decodeToSignedFloat({ ...scaled, manifest }, { data: latents, dims: [1, 4, 2, 1, 1] }, {});
    expect(seen).toEqual([...latents].map((x) => x * 2));
  });

  it('returns RGB frames [N, H, W, 3] and reports one step per chunk', async () => {
    const { latent_channels: channels, sample_size: size, vae_scale_factor: scale } = folder.manifest;
    const latents = randomLatents(channels, 7, size.height / scale, size.width / scale, 2);
    const progress: StageProgress[] = [];
    const frames = await decode(folder, latents, { chunkFrames: 3 }, { onProgress: (p) => progress.push(p) });
    expect(frames).toMatchObject({ frameCount: 7, height: size.height, width: size.width });
    expect(frames.data.length).toBe(7 * size.height * size.width * 3);
    expect(progress).toEqual([1, 2, 3].map((step) => ({ stage: 'decode', step, totalSteps: 3 })));
  });

  it('stops between chunks when the signal aborts', async () => {
    const controller = new AbortController();
    const latents = randomLatents(4, 9, 2, 2, 3);
    const fake = folderWithRunners(folder, { vae_decoder: windowedCausalDecoder(2, 1) }, 2);
    const run = decode(fake, latents, { chunkFrames: 3 }, {
      signal: controller.signal,
      onProgress: ({ step }) => step === 1 && controller.abort(),
    });
    await expect(run).rejects.toBeInstanceOf(StageCancelled);
  });

  it('refuses latents of the wrong channel count', async () => {
    await expect(decode(folder, randomLatents(3, 2, 8, 8, 1), {})).rejects.toThrow(RangeError);
  });
});
