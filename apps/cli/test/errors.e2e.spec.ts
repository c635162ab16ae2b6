import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, runMagicvideo } from './run-magicvideo';

const SHIPPED = join(REPO_ROOT, 'assets/models/magicvideo-shapes');

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'magicvideo-cli-errors-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** One line on stderr, `magicvideo: …`, never a stack trace. */
function expectOneLineError(stderr: string, message: RegExp): void {
  expect(stderr).toMatch(message);
  expect(stderr).toMatch(/^magicvideo: /);
  expect(stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(stderr).not.toMatch(/\n\s+at /);
}

describe('magicvideo usage errors exit 2 with the problem named', () => {
  it.each([
    ['an unknown sampler', ['generate', 'x', '--sampler', 'plms'], /unknown sampler "plms"; choose one of ddpm, ddim, dpmpp-2m, euler/],
    ['too few steps', ['generate', 'x', '--steps', '0'], /--steps must be between 1 and 200/],
    ['too many steps', ['generate', 'x', '--steps', '201'], /--steps must be between 1 and 200/],
    ['steps that are no number', ['generate', 'x', '--steps', 'ten'], /--steps expects a number, got "ten"/],
    ['guidance out of range', ['generate', 'x', '--guidance', '30.5'], /--guidance must be between 0 and 30/],
    ['an FPS condition outside the model\'s range', ['generate', 'x', '--fps', '120'], /--fps 120 is outside the model's FPS range \[2, 30\]/],
    ['an unknown format', ['generate', 'x', '--format', 'avi'], /unknown format "avi"/],
    ['an unknown option', ['generate', 'x', '--colour', 'red'], /Unknown option '--colour'/],
    ['a missing prompt', ['generate'], /generate takes "prompt", got none/],
    ['an unknown command', ['render', 'x'], /unknown command "render"/],
  ])('%s', async (_case, args, message) => {
    const run = await runMagicvideo(args);
    expectOneLineError(run.stderr, message);
    expect(run.code).toBe(2);
  });
});

describe('magicvideo runtime failures exit 1 with the problem named', () => {
  it.each([
    ['a missing input image', 'animate', 'nowhere.png', undefined, /cannot read image .*nowhere\.png: no such file/],
    ['an image that is not an image', 'animate', 'fake.png', 'this is text, not a PNG\n', /fake\.png is not an image ffmpeg can read/],
    // ffmpeg itself would read a .txt file as ANSI art
    ['a text file given as a video', 'edit', 'notes.txt', 'hello\n', /notes\.txt is not a video ffmpeg can read/],
  ])('%s', async (_case, command, name, contents, message) => {
    const input = join(work, name);
    if (contents !== undefined) await writeFile(input, contents);
    const run = await runMagicvideo([command, input, 'x']);
    expectOneLineError(run.stderr, message);
    expect(run.code).toBe(1);
  });

  it('a model folder that fails validation, listing every violation', async () => {
    const broken = join(work, 'broken-models');
    await mkdir(join(broken, 'tokenizer'), { recursive: true });
    await copyFile(join(SHIPPED, 'model_index.json'), join(broken, 'model_index.json'));
    await copyFile(join(SHIPPED, 'tokenizer/tokenizer.json'), join(broken, 'tokenizer/tokenizer.json'));
    const run = await runMagicvideo(['generate', 'x', '--models', broken]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/broken-models violates the model-folder contract/);
    expect(run.stderr).toMatch(/unet\/model\.onnx: missing \(listed as unet\)/);
    expect(run.stderr).toMatch(/vae_decoder\/model\.onnx: missing \(listed as vae_decoder\)/);
    expect(run.stderr).not.toMatch(/\n\s+at /);

    const validate = await runMagicvideo(['models', 'validate', broken]);
    expect(validate.code).toBe(1);
    expect(validate.stderr).toMatch(/text_encoder\/model\.onnx: missing/);
  });
});

describe('magicvideo models', () => {
  it('validates the shipped folder', async () => {
    const run = await runMagicvideo(['models', 'validate']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/magicvideo-shapes: valid \(7 models/);
  });

  it('describes each model with its tensors as the session sees them', async () => {
    const run = await runMagicvideo(['models', 'info', SHIPPED]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/key frames 16 at 64×64/);
    expect(run.stdout).toMatch(/unet \(unet\/model\.onnx, [\d.]+ MB\)/);
    expect(run.stdout).toMatch(/in {2}timestep +(float32|int64) +\[B\]/);
    expect(run.stdout).toMatch(/out frames +float32 +\[B, 3, F, H, W\]/);
  });
});
