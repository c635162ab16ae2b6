import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openModelFolder, type ModelFolder } from '../sessions/model-folder';
import { SHIPPED_MODEL_FOLDER } from '../sessions/shipped-model-folder.fixture';
import { StageCancelled } from '../stages/stage-cancelled';
import type { StageProgress } from '../stages/stage-context';
import { resolveFfmpegPath } from '../video/ffmpeg-path';
import { LocalArtifacts } from './local-artifacts';
import { resolveGenerationRequest } from '@magicvideo/shared';
import { InitFramesMismatch, runPipeline } from './run-pipeline';

let folder: ModelFolder;
let ffmpegPath: string;
let work: string;

beforeAll(async () => {
  folder = await openModelFolder(SHIPPED_MODEL_FOLDER, { executionProviders: ['cpu'], intraOpNumThreads: 2 });
  ffmpegPath = await resolveFfmpegPath();
  work = await mkdtemp(join(tmpdir(), 'run-pipeline-'));
});
afterAll(async () => {
  await folder.close();
  await rm(work, { recursive: true, force: true });
});

const keyframesOnly = (seed: number) =>
  resolveGenerationRequest({ prompt: 'a red circle moving right', seed, steps: 2, interpolate: false, superResolution: false, fps: 12 }, folder.manifest);

describe('runPipeline', () => {
  it('without interpolation and SR runs text, key frames, decode and encode, in order, at the FPS condition', async () => {
    const artifacts = await LocalArtifacts.open(join(work, 'short'));
    const progress: StageProgress[] = [];
    const result = await runPipeline(folder, keyframesOnly(11), { ffmpegPath, artifacts, onProgress: (p) => progress.push(p) });

    const stages = [...new Set(progress.map((p) => p.stage))];
    expect(stages).toEqual(['text', 'keyframes', 'decode', 'encode']);
    expect(progress.filter((p) => p.stage === 'keyframes').map((p) => p.step)).toEqual([1, 2]);
    expect(result).toMatchObject({ seed: 11, keyframeFps: 12, fps: 12 });
    expect([result.frames.frameCount, result.frames.height, result.frames.width]).toEqual([16, 64, 64]);
    expect(result.videos).toEqual([{ format: 'mp4', path: artifacts.videoPath('mp4'), frameCount: 16, width: 64, height: 64, fps: 12 }]);
    expect(Object.keys(result.timings).sort()).toEqual(['decode', 'encode', 'keyframes', 'preview', 'text']);

    const job = JSON.parse(await readFile(artifacts.path('job'), 'utf8'));
    expect(job).toMatchObject({ status: 'succeeded', seed: 11, stageTimingsMs: result.timings });
    expect(Object.keys(job.outputs).sort()).toEqual(['frames', 'job', 'keyframes', 'preview', 'request', 'text', 'videoMp4']);
  }, 60_000);

  it('records a cancelled run in job.json and writes no video', async () => {
    const artifacts = await LocalArtifacts.open(join(work, 'cancelled'));
    const controller = new AbortController();
    const run = runPipeline(folder, keyframesOnly(12), {
      ffmpegPath,
      artifacts,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.stage === 'keyframes') controller.abort();
      },
    });
    await expect(run).rejects.toBeInstanceOf(StageCancelled);
    const job = JSON.parse(await readFile(artifacts.path('job'), 'utf8'));
    expect(job).toMatchObject({ status: 'cancelled', error: { code: 'StageCancelled' } });
    expect(await readdir(artifacts.dir)).not.toContain('video.mp4');
  }, 60_000);

  it('refuses init frames without an init request, and an init request without frames', async () => {
    const frames = { data: new Uint8Array(3), frameCount: 1, height: 1, width: 1 };
    await expect(runPipeline(folder, keyframesOnly(1), { ffmpegPath, videoPath: () => join(work, 'x.mp4'), initFrames: frames })).rejects.toBeInstanceOf(
      InitFramesMismatch,
    );
    const withInit = { ...keyframesOnly(1), init: { source: 'image' as const, strength: 0.5 } };
    await expect(runPipeline(folder, withInit, { ffmpegPath, videoPath: () => join(work, 'x.mp4') })).rejects.toBeInstanceOf(InitFramesMismatch);
  });
});
