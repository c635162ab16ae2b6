import { describe, expect, it } from 'vitest';
import type { ModelFolderManifest } from '../model-folder/manifest';
import { InvalidRequest, outputFrameRate, parseGenerationRequest, resolveGenerationRequest } from './generation-request';

// The parts of a manifest the request reads (the shipped folder's values).
const manifest = {
  interp_factor: 4,
  fps: { min: 2, max: 30, default: 8 },
  defaults: {
    num_inference_steps: 25,
    guidance_scale: 7.5,
    sampler: 'ddim',
    interp_num_inference_steps: 10,
    sr_num_inference_steps: 6,
    sr_noise_level: 20,
  },
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

const keyframesOnly = {
  ...manifest,
  models: { text_encoder: 'text_encoder/model.onnx', unet: 'unet/model.onnx', vae_decoder: 'vae_decoder/model.onnx' },
} as unknown as ModelFolderManifest;

function issuesOf(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    if (error instanceof InvalidRequest) return error.issues.map((issue) => `${issue.field}: ${issue.message}`);
    throw error;
  }
  throw new Error('expected InvalidRequest');
}

describe('resolveGenerationRequest', () => {
  it('fills every default from the manifest and draws a seed when none is given', () => {
    expect(resolveGenerationRequest({ prompt: 'a red circle' }, manifest, () => 1234)).toEqual({
      prompt: 'a red circle',
      negativePrompt: '',
      seed: 1234,
      steps: 25,
      guidanceScale: 7.5,
      fps: 8,
      sampler: 'ddim',
      interpolate: true,
      superResolution: true,
      interpSteps: 10,
      srSteps: 6,
      srNoiseLevel: 20,
      formats: ['mp4'],
    });
  });

  it('keeps what the request says over the defaults', () => {
    const request = resolveGenerationRequest(
      { prompt: 'x', seed: 0, steps: 200, guidanceScale: 0, fps: 30, sampler: 'euler', interpolate: false, formats: ['gif', 'webm'] },
      manifest,
      () => 99,
    );
    expect(request).toMatchObject({ seed: 0, steps: 200, guidanceScale: 0, fps: 30, sampler: 'euler', interpolate: false, formats: ['gif', 'webm'] });
  });

  it('draws random seeds from the OS, different from run to run', () => {
    const seeds = new Set(Array.from({ length: 8 }, () => resolveGenerationRequest({ prompt: 'x' }, manifest).seed));
    expect(seeds.size).toBeGreaterThan(1);
    for (const seed of seeds) expect(Number.isSafeInteger(seed) && seed >= 0).toBe(true);
  });

  it('leaves optional stages out by default when the folder lacks their models, and refuses them when asked', () => {
    expect(resolveGenerationRequest({ prompt: 'x' }, keyframesOnly, () => 1)).toMatchObject({ interpolate: false, superResolution: false });
    expect(issuesOf(() => resolveGenerationRequest({ prompt: 'x', interpolate: true, superResolution: true }, keyframesOnly))).toEqual([
      'interpolate: the model folder has no interp_unet and image_encoder',
      'superResolution: the model folder has no sr_unet',
    ]);
    expect(issuesOf(() => resolveGenerationRequest({ prompt: 'x', init: { source: 'image', strength: 0.5 } }, keyframesOnly))).toEqual([
      'init: the model folder has no vae_encoder',
    ]);
  });

  it('refuses an FPS condition outside the range the model was trained on', () => {
    expect(issuesOf(() => resolveGenerationRequest({ prompt: 'x', fps: 1.5 }, manifest))).toEqual([
      "fps: 1.5 is outside the model's FPS range [2, 30]",
    ]);
    expect(issuesOf(() => resolveGenerationRequest({ prompt: 'x', fps: 31 }, manifest))).toHaveLength(1);
  });
});

describe('parseGenerationRequest', () => {
  it.each([
    [{ prompt: '  ' }, 'prompt: must not be empty'],
    [{ prompt: 'x', steps: 0 }, 'steps: must be between 1 and 200'],
    [{ prompt: 'x', steps: 201 }, 'steps: must be between 1 and 200'],
    [{ prompt: 'x', steps: 2.5 }, 'steps: must be a whole number'],
    [{ prompt: 'x', srSteps: 0 }, 'srSteps: must be between 1 and 200'],
    [{ prompt: 'x', guidanceScale: -0.1 }, 'guidanceScale: must be between 0 and 30'],
    [{ prompt: 'x', guidanceScale: 30.1 }, 'guidanceScale: must be between 0 and 30'],
    [{ prompt: 'x', seed: -1 }, `seed: must be between 0 and ${Number.MAX_SAFE_INTEGER}`],
    [{ prompt: 'x', seed: 2 ** 53 }, `seed: must be between 0 and ${Number.MAX_SAFE_INTEGER}`],
    [{ prompt: 'x', sampler: 'plms' }, 'sampler: must be one of ddpm, ddim, dpmpp-2m, euler'],
    [{ prompt: 'x', formats: [] }, 'formats: must name at least one format'],
    [{ prompt: 'x', formats: ['mp4', 'mp4'] }, 'formats: must not repeat a format'],
    [{ prompt: 'x', formats: ['avi'] }, 'formats.0: must be among mp4, webm, gif'],
    [{ prompt: 'x', init: { source: 'image', strength: 0 } }, 'init.strength: must be in (0, 1]'],
    [{ prompt: 'x', init: { source: 'image', strength: 1.5 } }, 'init.strength: must be in (0, 1]'],
  ])('refuses %j', (input, issue) => {
    expect(issuesOf(() => parseGenerationRequest(input))).toContain(issue);
  });

  it('refuses fields it does not know, so a typo is never ignored', () => {
    expect(issuesOf(() => parseGenerationRequest({ prompt: 'x', guidance: 3 }))[0]).toMatch(/guidance/);
  });

  it('accepts the bounds themselves', () => {
    expect(() => parseGenerationRequest({ prompt: 'x', steps: 1, guidanceScale: 30, init: { source: 'video', strength: 1 } })).not.toThrow();
  });
});

describe('outputFrameRate', () => {
  it('is the FPS condition times interp_factor with interpolation (same duration), else the FPS condition', () => {
    const request = resolveGenerationRequest({ prompt: 'x', fps: 7.5 }, manifest, () => 1);
    expect(outputFrameRate(request, manifest)).toBe(30);
    expect(outputFrameRate({ ...request, interpolate: false }, manifest)).toBe(7.5);
  });
});
