import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { InvalidRequest } from '../contracts/generation-request';
import { manifestSchema, type ModelFolderManifest } from '../model-folder/manifest';
import { REPO_ROOT } from '../testing/app-process';
import { resolveCreateVideoRequest, resolvedRequestToHttp } from './video-request';

// The shipped tiny model folder's manifest: it has interpolation, SR and the VAE encoder.
const manifest = manifestSchema.parse(JSON.parse(await readFile(path.join(REPO_ROOT, 'assets/models/magicvideo-shapes/model_index.json'), 'utf8')));
const { sr_unet: _sr, ...withoutSrModels } = manifest.models;
const withoutSr: ModelFolderManifest = { ...manifest, models: withoutSrModels };

function fieldsOf(body: unknown, folder: ModelFolderManifest = manifest): string[] {
  try {
    resolveCreateVideoRequest(body, folder);
  } catch (error) {
    if (error instanceof InvalidRequest) return error.issues.map((issue) => issue.field);
    throw error;
  }
  return [];
}

describe('resolveCreateVideoRequest', () => {
  it('maps every snake_case field to the pipeline’s request and fills the rest from the manifest', () => {
    const { resolved, request } = resolveCreateVideoRequest(
      {
        prompt: 'a red circle',
        negative_prompt: 'blur',
        seed: 9,
        num_inference_steps: 12,
        guidance_scale: 3,
        fps: 4,
        sampler: 'euler',
        interpolate: false,
        super_resolution: true,
        interp_num_inference_steps: 3,
        sr_num_inference_steps: 2,
        output_formats: ['gif', 'mp4'],
        webhook_url: 'https://example.com/hook',
        init: { source: 'video', strength: 0.5 },
      },
      manifest,
    );
    expect(resolved).toEqual({
      prompt: 'a red circle',
      negativePrompt: 'blur',
      seed: 9,
      steps: 12,
      guidanceScale: 3,
      fps: 4,
      sampler: 'euler',
      interpolate: false,
      superResolution: true,
      interpSteps: 3,
      srSteps: 2,
      srNoiseLevel: 20,
      formats: ['gif', 'mp4'],
      init: { source: 'video', strength: 0.5 },
    });
    expect(request.webhook_url).toBe('https://example.com/hook');
    expect(resolvedRequestToHttp(resolved)).toMatchObject({ num_inference_steps: 12, super_resolution: true, output_formats: ['gif', 'mp4'], sr_noise_level: 20 });
  });

  it('draws a seed when none is given', () => {
    expect(resolveCreateVideoRequest({ prompt: 'x' }, manifest, () => 77).resolved.seed).toBe(77);
  });

  it('names each unknown field, and refuses the pipeline’s camelCase names', () => {
    expect(fieldsOf({ prompt: 'x', colour: 1, superResolution: true })).toEqual(['colour', 'superResolution']);
  });

  it('names the manifest’s refusals with the HTTP names', () => {
    expect(fieldsOf({ prompt: 'x', super_resolution: true }, withoutSr)).toEqual(['super_resolution']);
    expect(fieldsOf({ prompt: 'x', fps: 31 })).toEqual(['fps']);
  });

  it('names nested and indexed fields by their path', () => {
    expect(fieldsOf({ prompt: 'x', output_formats: ['mp4', 'mov'], init: { source: 'photo', strength: 2 } }).sort()).toEqual([
      'init.source',
      'init.strength',
      'output_formats.1',
    ]);
  });

  it('refuses a body that is not an object', () => {
    expect(fieldsOf('a red circle')).toEqual(['request']);
    expect(fieldsOf(null)).toEqual(['request']);
  });
});
