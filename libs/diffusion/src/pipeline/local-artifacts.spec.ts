import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSafetensorsFile } from '@magicvideo/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalArtifacts } from './local-artifacts';

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'local-artifacts-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('LocalArtifacts', () => {
  it('creates its folder and writes tensors under the DESIGN.md §4 names, readable back with their shapes', async () => {
    const artifacts = await LocalArtifacts.open(join(work, 'nested', 'run.artifacts'));
    const cond = { data: Float32Array.from({ length: 6 }, (_, i) => i), dims: [1, 2, 3] };
    await artifacts.writeText({ cond, uncond: { data: new Float32Array(6), dims: [1, 2, 3] } });
    await artifacts.writeKeyframes({ data: new Float32Array(2 * 16), dims: [1, 2, 16, 1, 1] }, { fps: '8' });
    await artifacts.writeFrames({ data: Uint8Array.from({ length: 12 }, (_, i) => i), frameCount: 1, height: 2, width: 2 });

    const text = await readSafetensorsFile(join(artifacts.dir, 'text.safetensors'));
    expect(text.tensors['cond']).toMatchObject({ dtype: 'F32', shape: [1, 2, 3] });
    expect([...(text.tensors['cond']!.data as Float32Array)]).toEqual([0, 1, 2, 3, 4, 5]);
    const keyframes = await readSafetensorsFile(join(artifacts.dir, 'keyframes.safetensors'));
    expect(keyframes.tensors['latents']?.shape).toEqual([1, 2, 16, 1, 1]);
    expect(keyframes.metadata).toEqual({ fps: '8' });
    const frames = await readSafetensorsFile(join(artifacts.dir, 'frames.safetensors'));
    expect(frames.tensors['frames']).toMatchObject({ dtype: 'U8', shape: [1, 2, 2, 3] });
    expect(artifacts.outputs()).toEqual({ text: 'text.safetensors', keyframes: 'keyframes.safetensors', frames: 'frames.safetensors' });
  });

  it('adds a video encoded elsewhere as video.<format> without a second copy', async () => {
    const artifacts = await LocalArtifacts.open(join(work, 'clip.artifacts'));
    const encoded = join(work, 'clip.webm');
    await writeFile(encoded, 'webm bytes');
    await artifacts.addVideo('webm', encoded);
    expect(await readFile(artifacts.videoPath('webm'), 'utf8')).toBe('webm bytes');
    expect((await stat(artifacts.videoPath('webm'))).ino).toBe((await stat(encoded)).ino);
    expect(artifacts.outputs()).toEqual({ videoWebm: 'video.webm' });
  });

  it('writes request.json and job.json as readable JSON', async () => {
    const artifacts = await LocalArtifacts.open(join(work, 'json.artifacts'));
    await artifacts.writeRequest({ prompt: 'x', seed: 3 });
    await artifacts.writeJob({ status: 'running', seed: 3, startedAt: 't', stageTimingsMs: { text: 5 }, outputs: {} });
    expect(JSON.parse(await readFile(artifacts.path('request'), 'utf8'))).toEqual({ prompt: 'x', seed: 3 });
    expect(JSON.parse(await readFile(artifacts.path('job'), 'utf8'))).toMatchObject({ status: 'running', stageTimingsMs: { text: 5 } });
  });
});
