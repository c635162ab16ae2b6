import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeVideo, encodeVideo, resolveFfmpegPath, type RgbFrames } from '@magicvideo/diffusion';
import { readSafetensorsFile } from '@magicvideo/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMagicvideo, type CliRun } from './run-magicvideo';

// The shipped folder (the tiny config): 16 key frames at 64×64, 4 latent channels at 8×8, ×4 interpolation
// (61 frames), ×4 SR (256×256), FPS condition default 8. Few steps keep each run to seconds.
const FAST = ['--steps', '2', '--interp-steps', '1', '--sr-steps', '1'];
const PROMPT = 'a red circle moving right';

let work: string;
let ffmpegPath: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'magicvideo-cli-'));
  ffmpegPath = await resolveFfmpegPath();
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

function expectSucceeded(run: CliRun): void {
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
}

async function decoded(path: string) {
  return decodeVideo(path, { ffmpegPath });
}

describe('magicvideo generate, key frames only (--no-interp --no-sr)', () => {
  let first: CliRun;
  beforeAll(async () => {
    first = await runMagicvideo(['generate', PROMPT, ...FAST, '--seed', '7', '--no-interp', '--no-sr', '--format', 'mp4,gif,webm', '-o', join(work, 'a.mp4')]);
  }, 120_000);

  it('prints the seed and writes an MP4 of the 16 key frames at the key-frame size and the FPS condition', async () => {
    expectSucceeded(first);
    expect(first.stdout).toMatch(/^seed 7$/m);
    const video = await decoded(join(work, 'a.mp4'));
    expect([video.frameCount, video.width, video.height, video.fps]).toEqual([16, 64, 64, 8]);
  });

  it('writes every format asked for, each decodable to the same 16 frames', async () => {
    for (const format of ['gif', 'webm']) {
      const video = await decoded(join(work, `a.${format}`));
      expect([format, video.frameCount, video.width, video.height]).toEqual([format, 16, 64, 64]);
    }
  });

  it('writes the DESIGN.md §4 artifacts next to the video, with key-frame latents of the right shape', async () => {
    const artifacts = join(work, 'a.artifacts');
    expect((await readdir(artifacts)).sort()).toEqual(
      ['frames.safetensors', 'job.json', 'keyframes.safetensors', 'preview.gif', 'request.json', 'text.safetensors', 'video.gif', 'video.mp4', 'video.webm'].sort(),
    );
    const keyframes = await readSafetensorsFile(join(artifacts, 'keyframes.safetensors'));
    expect(keyframes.tensors['latents']?.shape).toEqual([1, 4, 16, 8, 8]);
    const text = await readSafetensorsFile(join(artifacts, 'text.safetensors'));
    expect(text.tensors['cond']?.shape).toEqual([1, 77, 128]);
    expect(text.tensors['uncond']?.shape).toEqual([1, 77, 128]);
    const frames = await readSafetensorsFile(join(artifacts, 'frames.safetensors'));
    expect(frames.tensors['frames']).toMatchObject({ dtype: 'U8', shape: [16, 64, 64, 3] });
    const request = JSON.parse(await readFile(join(artifacts, 'request.json'), 'utf8'));
    expect(request).toMatchObject({ prompt: PROMPT, seed: 7, steps: 2, interpolate: false, superResolution: false });
    const job = JSON.parse(await readFile(join(artifacts, 'job.json'), 'utf8'));
    expect(job.status).toBe('succeeded');
    expect(Object.keys(job.stageTimingsMs)).toEqual(expect.arrayContaining(['text', 'keyframes', 'decode', 'encode']));
    expect(job.stageTimingsMs).not.toHaveProperty('interp');
    expect(job.stageTimingsMs).not.toHaveProperty('sr');
    const preview = await decoded(join(artifacts, 'preview.gif'));
    expect([preview.frameCount, preview.width]).toEqual([16, 64]);
  });

  it('makes identical frames from the same seed, and different frames from another', async () => {
    const again = await runMagicvideo(['generate', PROMPT, ...FAST, '--seed', '7', '--no-interp', '--no-sr', '-o', join(work, 'b.mp4')]);
    const other = await runMagicvideo(['generate', PROMPT, ...FAST, '--seed', '8', '--no-interp', '--no-sr', '-o', join(work, 'c.mp4')]);
    expectSucceeded(again);
    expectSucceeded(other);
    const framesOf = (name: string) => readFile(join(work, name, 'frames.safetensors'));
    const [a, b, c] = await Promise.all([framesOf('a.artifacts'), framesOf('b.artifacts'), framesOf('c.artifacts')]);
    expect(b.equals(a)).toBe(true);
    expect(c.equals(a)).toBe(false);
  }, 120_000);
});

describe('magicvideo generate with interpolation', () => {
  it('without SR: 61 frames at the key-frame size, at 4× the FPS condition, with interpolated latents', async () => {
    const run = await runMagicvideo(['generate', PROMPT, ...FAST, '--seed', '7', '--no-sr', '-o', join(work, 'interp.mp4')]);
    expectSucceeded(run);
    const video = await decoded(join(work, 'interp.mp4'));
    expect([video.frameCount, video.width, video.height, video.fps]).toEqual([61, 64, 64, 32]);
    const interp = await readSafetensorsFile(join(work, 'interp.artifacts', 'interp.safetensors'));
    expect(interp.tensors['latents']?.shape).toEqual([1, 4, 61, 8, 8]);
    // a shorter pipeline is never a different one: the key frames equal the --no-interp run's
    const keyframes = (name: string) => readFile(join(work, name, 'keyframes.safetensors'));
    expect((await keyframes('interp.artifacts')).equals(await keyframes('a.artifacts'))).toBe(true);
  }, 120_000);

  it('with SR (every stage): 61 frames at the SR size', async () => {
    const run = await runMagicvideo(['generate', PROMPT, ...FAST, '--seed', '7', '-o', join(work, 'full.mp4')]);
    expectSucceeded(run);
    const video = await decoded(join(work, 'full.mp4'));
    expect([video.frameCount, video.width, video.height, video.fps]).toEqual([61, 256, 256, 32]);
  }, 300_000);
});

async function writeImage(path: string, frames: RgbFrames): Promise<void> {
  // a one-frame GIF is an image ffmpeg reads like any PNG; encodeVideo writes it without new code
  await encodeVideo(frames, { fps: 1, format: 'gif', output: path, ffmpegPath });
}

function gradient(frameCount: number, height: number, width: number): RgbFrames {
  const data = new Uint8Array(frameCount * height * width * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7) % 256;
  return { data, frameCount, height, width };
}

describe('magicvideo animate and edit', () => {
  it('animates an image (any size) into 16 key frames, with a random seed printed and used in the default name', async () => {
    const image = join(work, 'still.gif');
    await writeImage(image, gradient(1, 80, 96));
    const run = await runMagicvideo(['animate', image, PROMPT, ...FAST, '--no-interp', '--no-sr', '--strength', '0.7'], { cwd: work });
    expectSucceeded(run);
    const seed = /^seed (\d+)$/m.exec(run.stdout)?.[1];
    expect(seed).toBeDefined();
    const video = await decoded(join(work, `magicvideo-${seed}.mp4`));
    expect([video.frameCount, video.width, video.height]).toEqual([16, 64, 64]);
    const request = JSON.parse(await readFile(join(work, `magicvideo-${seed}.artifacts`, 'request.json'), 'utf8'));
    expect(request.init).toEqual({ source: 'image', strength: 0.7 });
  }, 120_000);

  it('edits a video into 16 key frames', async () => {
    const input = join(work, 'input.webm');
    await encodeVideo(gradient(24, 48, 48), { fps: 12, format: 'webm', output: input, ffmpegPath });
    const run = await runMagicvideo(['edit', input, PROMPT, ...FAST, '--seed', '3', '--no-interp', '--no-sr', '-o', join(work, 'edited.gif')]);
    expectSucceeded(run);
    const video = await decoded(join(work, 'edited.gif'));
    expect([video.frameCount, video.width, video.height]).toEqual([16, 64, 64]);
    expect((await stat(join(work, 'edited.artifacts', 'video.gif'))).size).toBeGreaterThan(0);
  }, 120_000);
});
