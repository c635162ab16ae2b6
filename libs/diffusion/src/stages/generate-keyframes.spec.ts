import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openModelFolder, type ModelFolder } from '../sessions/model-folder';
import { SHIPPED_MODEL_FOLDER } from '../sessions/shipped-model-folder.fixture';
import { generateKeyframes, img2imgStartIndex, type KeyframeText } from './generate-keyframes';
import {
  modelFolderDigest,
  readKeyframeParityFixture,
  relativeMaxError,
  type KeyframeParityFixture,
} from './keyframe-parity.fixture';
import { StageCancelled } from './stage-cancelled';
import type { StageProgress } from './stage-context';

let folder: ModelFolder;
let fixture: KeyframeParityFixture;
let text: KeyframeText;
beforeAll(async () => {
  folder = await openModelFolder(SHIPPED_MODEL_FOLDER, { executionProviders: ['cpu'] });
  fixture = await readKeyframeParityFixture();
  text = { cond: fixture.tensors['text.cond']!, uncond: fixture.tensors['text.uncond']! };
});
afterAll(async () => folder.close());

describe('generateKeyframes against the Python reference sampler', () => {
  it('samples from the model folder the fixture was written from', async () => {
    const digest = await modelFolderDigest(SHIPPED_MODEL_FOLDER, fixture.digested_files);
    expect(
      digest,
      `the shipped model folder changed since the parity fixture was written; refresh it: ${fixture.refresh}`,
    ).toBe(fixture.folder_sha256);
  });

  it.each([
    'ddim',
    'ddpm',
    'dpmpp-2m',
    'euler',
    'ddim-eta',
    'ddim-unguided',
    'sdedit-ddim',
    'sdedit-ddpm',
    'sdedit-dpmpp-2m',
    'sdedit-euler',
  ])('equals the reference latents within 1e-4 (%s)', async (name) => {
    const parityCase = fixture.cases.find((c) => c.name === name);
    expect(parityCase, `case ${name} in cases.json`).toBeDefined();
    const { sampler, steps, guidance_scale: guidanceScale, eta, strength } = parityCase!;
    const progress: StageProgress[] = [];
    const latents = await generateKeyframes(
      folder,
      text,
      {
        seed: fixture.prompt.seed,
        fps: fixture.prompt.fps,
        sampler,
        steps,
        guidanceScale,
        eta,
        ...(strength !== null && { init: { latents: fixture.tensors['init']!, strength } }),
      },
      { onProgress: (p) => progress.push(p) },
    );
    const reference = fixture.tensors[`latents.${name}`]!;
    expect(latents.dims).toEqual(reference.dims);
    expect(relativeMaxError(latents.data, reference.data)).toBeLessThan(1e-4);
    const runSteps = strength === null ? steps : steps - img2imgStartIndex(steps, strength);
    expect(progress.map((p) => p.step)).toEqual(Array.from({ length: runSteps }, (_, i) => i + 1));
    expect(progress.every((p) => p.stage === 'keyframes' && p.totalSteps === runSteps)).toBe(true);
  });
});

describe('generateKeyframes', () => {
  const options = { steps: 2, guidanceScale: 3, sampler: 'ddim' as const, fps: 8 };

  it('gives identical latents for the same seed and different latents for another seed', async () => {
    const first = await generateKeyframes(folder, text, { ...options, seed: 5 });
    const again = await generateKeyframes(folder, text, { ...options, seed: 5 });
    const other = await generateKeyframes(folder, text, { ...options, seed: 6 });
    expect(again.data).toEqual(first.data);
    expect(relativeMaxError(other.data, first.data)).toBeGreaterThan(0.1);
  });

  it('stops within one step when aborted from a progress callback', async () => {
    const controller = new AbortController();
    const progress: StageProgress[] = [];
    const run = generateKeyframes(
      folder,
      text,
      { ...options, steps: 10, seed: 1 },
      {
        signal: controller.signal,
        onProgress: (p) => {
          progress.push(p);
          if (p.step === 2) controller.abort();
        },
      },
    );
    await expect(run).rejects.toBeInstanceOf(StageCancelled);
    expect(progress.map((p) => p.step)).toEqual([1, 2]);
  });

  it('refuses init latents of another shape and a strength that runs no step', async () => {
    const init = { latents: { data: new Float32Array(8), dims: [1, 8] }, strength: 0.5 };
    await expect(generateKeyframes(folder, text, { ...options, seed: 1, init })).rejects.toThrow(
      /init latents must have dims/,
    );
    const latents = fixture.tensors['init']!;
    await expect(
      generateKeyframes(folder, text, { ...options, seed: 1, init: { latents, strength: 0.2 } }),
    ).rejects.toThrow(RangeError);
  });
});

describe('img2imgStartIndex', () => {
  it("starts where diffusers' img2img get_timesteps does", () => {
    expect(img2imgStartIndex(10, 0.75)).toBe(3); // runs int(7.5) = 7 steps
    expect(img2imgStartIndex(4, 0.75)).toBe(1);
    expect(img2imgStartIndex(25, 1)).toBe(0);
    expect(img2imgStartIndex(10, 0.7)).toBe(3);
    expect(() => img2imgStartIndex(10, 0.05)).toThrow(RangeError);
    expect(() => img2imgStartIndex(10, 1.5)).toThrow(RangeError);
  });
});
