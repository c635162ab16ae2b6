import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeVideo, resolveFfmpegPath } from '@magicvideo/diffusion';
import { decodeSafetensors, encodeSafetensors } from '@magicvideo/shared';
import type { Job, QueueEvents } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StageWorkerHarness, startStageWorkerHarness } from '@magicvideo/shared/testing';

async function failureOf(job: Job, events: QueueEvents): Promise<string> {
  try {
    await job.waitUntilFinished(events, 60_000);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error(`job ${job.id} completed; expected it to fail`);
}

/** Decoded frames U8 [N, 64, 64, 3] as the decode stage writes them: a gradient moving right. */
function framesFile(frameCount: number): Uint8Array {
  const [height, width] = [64, 64];
  const data = new Uint8Array(frameCount * height * width * 3);
  for (let f = 0; f < frameCount; f++) {
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const at = ((f * height + y) * width + x) * 3;
        data[at] = (x * 4 + f * 8) % 256;
        data[at + 1] = y * 4;
        data[at + 2] = 128;
      }
    }
  }
  return encodeSafetensors({ frames: { dtype: 'U8', shape: [frameCount, height, width, 3], data } });
}

describe('worker-sr', () => {
  let harness: StageWorkerHarness;
  let events: QueueEvents;

  beforeAll(async () => {
    harness = await startStageWorkerHarness();
    events = await harness.queueEvents('sr');
    await harness.startWorker('sr');
  });
  afterAll(async () => harness?.stop());

  it('as the last stage: super-resolves the decoded frames ×4, writes sr_frames and the video, and the video succeeds', async () => {
    const params = harness.resolve({ prompt: 'a red circle', seed: 41, interpolate: false, superResolution: true });
    await harness.createVideo('sr-last', params);
    await harness.artifacts.putBytes('sr-last', 'frames', framesFile(16), 'application/octet-stream');
    const job = await harness.addStageJob(harness.stageJobData('sr-last', 'sr', params));
    expect(await job.waitUntilFinished(events, 120_000)).toEqual({
      outputs: { srFrames: 'videos/sr-last/sr_frames.safetensors', videoMp4: 'videos/sr-last/video.mp4' },
    });
    const srFrames = decodeSafetensors(await harness.artifacts.getBytes('sr-last', 'srFrames')).tensors.frames;
    expect(srFrames).toMatchObject({ dtype: 'U8', shape: [16, 256, 256, 3] });
    // The decode stage's frames are left as they were: each stage writes only its own keys.
    expect(decodeSafetensors(await harness.artifacts.getBytes('sr-last', 'frames')).tensors.frames?.shape).toEqual([16, 64, 64, 3]);

    const dir = await mkdtemp(join(tmpdir(), 'worker-sr-test-'));
    try {
      await writeFile(join(dir, 'video.mp4'), await harness.artifacts.getBytes('sr-last', 'videoMp4'));
      const video = await decodeVideo(join(dir, 'video.mp4'), { ffmpegPath: await resolveFfmpegPath() });
      expect(video).toMatchObject({ frameCount: 16, width: 256, height: 256 });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const record = await harness.store.get('sr-last');
    expect(record).toMatchObject({ status: 'succeeded', progress: 1, stageRecords: { sr: { state: 'completed', attempts: 1 } } });
    expect(record?.stageRecords.sr?.totalSteps).toBeGreaterThanOrEqual(params.srSteps);
  });

  it('fails at once with InvalidStageInput when the frames are not uint8 images', async () => {
    const params = harness.resolve({ prompt: 'a blue square', seed: 42, interpolate: false, superResolution: true });
    await harness.createVideo('sr-bad-input', params);
    const wrong = encodeSafetensors({ frames: { dtype: 'F32', shape: [1, 4, 4, 3], data: new Float32Array(48) } });
    await harness.artifacts.putBytes('sr-bad-input', 'frames', wrong, 'application/octet-stream');
    const job = await harness.addStageJob(harness.stageJobData('sr-bad-input', 'sr', params));
    expect(await failureOf(job, events)).toBe('InvalidStageInput: frames.safetensors "frames" is F32 [1, 4, 4, 3], expected U8 of rank 4');
    expect(await harness.store.get('sr-bad-input')).toMatchObject({ status: 'failed', error: { code: 'InvalidStageInput', stage: 'sr' } });
  });

  it('fails bad job data at once with InvalidStageInput, spending no retry', async () => {
    const job = await harness.queue('sr').add('sr', { videoId: 'abc', stage: 'decode', params: {}, inputs: {}, last: true }, { attempts: 3 });
    expect(await failureOf(job, events)).toMatch(/^InvalidStageInput: job data: /);
    expect((await harness.queue('sr').getJob(job.id!))?.attemptsMade).toBe(1);
  });
});
