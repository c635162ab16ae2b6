import { seededGaussian } from '@magicvideo/diffusion';
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

/** Key-frame latents [1, C, 16, h, w] F32 as the key-frame stage writes them, deterministic. */
function keyframesFile(seed: number): Uint8Array {
  const shape = [1, 4, 16, 8, 8];
  return encodeSafetensors({ latents: { dtype: 'F32', shape, data: seededGaussian(seed, 0, shape.reduce((a, b) => a * b, 1)) } });
}

describe('worker-interp', () => {
  let harness: StageWorkerHarness;
  let events: QueueEvents;

  beforeAll(async () => {
    harness = await startStageWorkerHarness();
    events = await harness.queueEvents('interp');
    await harness.startWorker('interp');
  });
  afterAll(async () => harness?.stop());

  it('interpolates 16 key frames to 61 latent frames, writes the preview, records the stage; same bytes on a re-run', async () => {
    const params = harness.resolve({ prompt: 'a red circle moving right', seed: 31, interpolate: true, superResolution: false });
    for (const videoId of ['interp-ok', 'interp-ok-again']) {
      await harness.createVideo(videoId, params);
      await harness.artifacts.putBytes(videoId, 'keyframes', keyframesFile(31), 'application/octet-stream');
    }
    const job = await harness.addStageJob(harness.stageJobData('interp-ok', 'interp', params));
    expect(await job.waitUntilFinished(events, 60_000)).toEqual({
      outputs: { interp: 'videos/interp-ok/interp.safetensors', preview: 'videos/interp-ok/preview.gif' },
    });
    const interp = decodeSafetensors(await harness.artifacts.getBytes('interp-ok', 'interp'));
    expect(interp.tensors.latents).toMatchObject({ dtype: 'F32', shape: [1, 4, 61, 8, 8] });
    // Output rate: the FPS condition × interp_factor.
    expect(interp.metadata).toEqual({ fps: String(params.fps * harness.manifest.interp_factor) });
    const preview = await harness.artifacts.getBytes('interp-ok', 'preview');
    expect(Buffer.from(preview.subarray(0, 6)).toString('latin1')).toBe('GIF89a');

    const record = await harness.store.get('interp-ok');
    expect(record).toMatchObject({
      status: 'running',
      stageRecords: { interp: { state: 'completed', step: params.interpSteps, totalSteps: params.interpSteps, attempts: 1 } },
    });
    expect(record?.stageRecords.decode?.queuedAt).toBe(record?.stageRecords.interp?.finishedAt);

    const again = await harness.addStageJob(harness.stageJobData('interp-ok-again', 'interp', params));
    await again.waitUntilFinished(events, 60_000);
    for (const artifact of ['interp', 'preview'] as const) {
      const first = await harness.artifacts.getBytes('interp-ok', artifact);
      const second = await harness.artifacts.getBytes('interp-ok-again', artifact);
      expect(Buffer.from(second).equals(Buffer.from(first)), artifact).toBe(true);
    }
  });

  it('fails at once with InvalidStageInput when the key frames are not latents', async () => {
    const params = harness.resolve({ prompt: 'a blue square', seed: 32, interpolate: true, superResolution: false });
    await harness.createVideo('interp-bad-input', params);
    const wrong = encodeSafetensors({ frames: { dtype: 'U8', shape: [2, 2], data: new Uint8Array(4) } });
    await harness.artifacts.putBytes('interp-bad-input', 'keyframes', wrong, 'application/octet-stream');
    const job = await harness.addStageJob(harness.stageJobData('interp-bad-input', 'interp', params));
    expect(await failureOf(job, events)).toBe('InvalidStageInput: keyframes.safetensors has no "latents" tensor');
    expect((await harness.queue('interp').getJob(job.id!))?.attemptsMade).toBe(1);
    expect(await harness.store.get('interp-bad-input')).toMatchObject({ status: 'failed', error: { code: 'InvalidStageInput', stage: 'interp' } });
  });

  it('fails bad job data at once with InvalidStageInput, spending no retry', async () => {
    const job = await harness.queue('interp').add('interp', { videoId: '../x', stage: 'interp' }, { attempts: 3 });
    expect(await failureOf(job, events)).toMatch(/^InvalidStageInput: job data: videoId/);
    expect((await harness.queue('interp').getJob(job.id!))?.attemptsMade).toBe(1);
  });
});
