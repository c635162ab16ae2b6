import { describe, expect, it } from 'vitest';
import { resolveGenerationRequest } from '../contracts/generation-request';
import type { ModelFolderManifest } from '../model-folder/manifest';
import { resolvedRequestFixture } from './video-record.fixture';
import { resolvedGenerationRequestSchema, stageJobDataSchema, stageJobId } from './stage-job';

const manifest = {
  interp_factor: 4,
  fps: { min: 2, max: 30, default: 8 },
  defaults: { num_inference_steps: 25, guidance_scale: 7.5, sampler: 'ddim', interp_num_inference_steps: 10, sr_num_inference_steps: 6, sr_noise_level: 20 },
  schedulers: { unet: {}, interp_unet: {}, sr_unet: {} },
  models: {
    text_encoder: 'text_encoder/model.onnx',
    unet: 'unet/model.onnx',
    vae_decoder: 'vae_decoder/model.onnx',
    image_encoder: 'image_encoder/model.onnx',
    interp_unet: 'interp_unet/model.onnx',
    vae_encoder: 'vae_encoder/model.onnx',
    sr_unet: 'sr_unet/model.onnx',
  },
} as unknown as ModelFolderManifest;

describe('stage job contract', () => {
  it.each([
    { prompt: 'a red circle moving right' },
    { prompt: 'a blue square', seed: 7, steps: 10, interpolate: false, superResolution: false, formats: ['webm', 'gif'], negativePrompt: 'blurry' },
    { prompt: 'edit', init: { source: 'video', strength: 0.6 }, sampler: 'euler', fps: 12 },
  ])('accepts what resolveGenerationRequest makes of %j', (request) => {
    const resolved = resolveGenerationRequest(request, manifest, () => 1234);
    expect(resolvedGenerationRequestSchema.parse(resolved)).toEqual(resolved);
  });

  it('rejects a request with a default left unresolved or an unknown field', () => {
    const { seed: _seed, ...withoutSeed } = resolvedRequestFixture();
    expect(resolvedGenerationRequestSchema.safeParse(withoutSeed).success).toBe(false);
    expect(resolvedGenerationRequestSchema.safeParse({ ...resolvedRequestFixture(), extra: 1 }).success).toBe(false);
  });

  it('checks job data: a safe video id, a known stage, known artifact names', () => {
    const data = { videoId: 'abc', stage: 'decode', params: resolvedRequestFixture(), inputs: { interp: 'videos/abc/interp.safetensors' }, last: false };
    expect(stageJobDataSchema.parse(data)).toEqual(data);
    expect(stageJobDataSchema.safeParse({ ...data, videoId: '../x' }).success).toBe(false);
    expect(stageJobDataSchema.safeParse({ ...data, stage: 'upscale' }).success).toBe(false);
    expect(stageJobDataSchema.safeParse({ ...data, inputs: { latents: 'x' } }).success).toBe(false);
  });

  it('names stage jobs without the key separator', () => {
    expect(stageJobId('abc', 'keyframe')).toBe('abc.keyframe');
    expect(stageJobId('abc', 'sr')).not.toContain(':');
  });
});
