import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openModelFolder, type ModelFolder } from '../sessions/model-folder';
import { SHIPPED_MODEL_FOLDER } from '../sessions/shipped-model-folder.fixture';
import { StageCancelled } from '../stages/stage-cancelled';
import type { RgbFrames } from '../video/frames';
import { encodeInitLatents, framesAtSize, uniformFrameIndices } from './encode-init-latents';

function frames(frameCount: number, height: number, width: number, value: (f: number, y: number, x: number, c: number) => number): RgbFrames {
  const data = new Uint8Array(frameCount * height * width * 3);
  for (let f = 0; f < frameCount; f++)
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++) for (let c = 0; c < 3; c++) data[((f * height + y) * width + x) * 3 + c] = value(f, y, x, c);
  return { data, frameCount, height, width };
}

describe('uniformFrameIndices', () => {
  it('spreads the picks evenly, first and last included', () => {
    expect(uniformFrameIndices(31, 16)).toEqual([0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30]);
    expect(uniformFrameIndices(4, 7)).toEqual([0, 1, 1, 2, 2, 3, 3]);
    expect(uniformFrameIndices(1, 3)).toEqual([0, 0, 0]);
  });
});

describe('framesAtSize', () => {
  it('centre-crops to the target aspect ratio before resizing, so nothing is stretched', () => {
    // 4 columns: left and right quarters black, middle white; a square crop keeps the middle
    const wide = frames(1, 2, 4, (_f, _y, x) => (x === 0 || x === 3 ? 0 : 255));
    const planes = framesAtSize(wide, { height: 2, width: 2 });
    expect([planes.height, planes.width]).toEqual([2, 2]);
    expect([...planes.data].every((v) => v === 1)).toBe(true);
  });

  it('shrinks by averaging the area each output pixel covers', () => {
    // a 1-pixel checkerboard averages to mid-grey: exactly 0 in [-1, 1] for bytes 0 and 255
    const checker = frames(1, 8, 8, (_f, y, x) => ((x + y) % 2 === 0 ? 0 : 255));
    const planes = framesAtSize(checker, { height: 2, width: 2 });
    for (const v of planes.data) expect(v).toBeCloseTo(0, 6);
  });
});

describe('encodeInitLatents on the shipped folder', () => {
  let folder: ModelFolder;
  beforeAll(async () => {
    folder = await openModelFolder(SHIPPED_MODEL_FOLDER, { executionProviders: ['cpu'], intraOpNumThreads: 2 });
  });
  afterAll(async () => {
    await folder.close();
  });

  it('repeats an image latent on every key frame, [1, C, F, h, w]', async () => {
    const image = frames(1, 80, 96, (_f, y, x, c) => (x * 3 + y * 2 + c * 40) % 256);
    const latents = await encodeInitLatents(folder, image, { seed: 5, source: 'image' });
    expect(latents.dims).toEqual([1, 4, 16, 8, 8]);
    const plane = 64;
    for (let c = 0; c < 4; c++) {
      const first = latents.data.subarray(c * 16 * plane, c * 16 * plane + plane);
      for (let f = 1; f < 16; f++) expect(latents.data.subarray((c * 16 + f) * plane, (c * 16 + f + 1) * plane)).toEqual(first);
    }
  });

  it('encodes a video frame by frame, the same for the same seed and differently for another', async () => {
    const video = frames(20, 64, 64, (f, y, x, c) => (x * 4 + f * 12 + c * 50 + y) % 256);
    const a = await encodeInitLatents(folder, video, { seed: 5, source: 'video' });
    const b = await encodeInitLatents(folder, video, { seed: 5, source: 'video' });
    const c = await encodeInitLatents(folder, video, { seed: 6, source: 'video' });
    expect(b.data).toEqual(a.data);
    expect(c.data).not.toEqual(a.data);
    const plane = 64;
    expect(a.data.subarray(0, plane)).not.toEqual(a.data.subarray(15 * plane, 16 * plane));
  });

  it('stops before the model call when cancelled', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(encodeInitLatents(folder, frames(1, 8, 8, () => 0), { seed: 1, source: 'image' }, { signal: controller.signal })).rejects.toBeInstanceOf(
      StageCancelled,
    );
  });
});
