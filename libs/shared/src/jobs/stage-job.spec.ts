import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveGenerationRequest } from '../contracts/generation-request';
import { manifestSchema, type ModelFolderManifest } from '../model-folder/manifest';
import { resolvedRequestFixture } from './video-record.fixture';
import { resolvedGenerationRequestSchema, stageJobDataSchema, stageJobId } from './stage-job';

// The shipped model folder's manifest: what the API resolves requests against.
const manifestPath = fileURLToPath(new URL('../../../../assets/models/magicvideo-shapes/model_index.json', import.meta.url));
let manifest: ModelFolderManifest;

beforeAll(async () => {
  manifest = manifestSchema.parse(JSON.parse(await readFile(manifestPath, 'utf8')));
});

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
