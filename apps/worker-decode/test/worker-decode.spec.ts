import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeVideo, resolveFfmpegPath, seededGaussian } from '@magicvideo/diffusion';
import { decodeSafetensors, encodeSafetensors } from '@magicvideo/shared';
import { type AppUnderTest, startAppProcess, startAppUnderTest, waitForHttpStatus } from '@magicvideo/shared/testing';
import type { Job, QueueEvents } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StageWorkerHarness, startStageWorkerHarness, SHIPPED_MODELS_DIR } from '@magicvideo/shared/testing';

async function failureOf(job: Job, events: QueueEvents): Promise<string> {
  try {
    await job.waitUntilFinished(events, 60_000);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error(`job ${job.id} completed; expected it to fail`);
}

/** Latents as a stage before decode writes them: [1, C, frames, h, w] F32, deterministic. */
function latentsFile(frames: number, seed: number): Uint8Array {
  const shape = [1, 4, frames, 8, 8];
  return encodeSafetensors({ latents: { dtype: 'F32', shape, data: seededGaussian(seed, 0, shape.reduce((a, b) => a * b, 1)) } });
}

async function videoFrames(bytes: Uint8Array, ffmpegPath: string) {
  const dir = await mkdtemp(join(tmpdir(), 'worker-decode-test-'));
  try {
    await writeFile(join(dir, 'video.mp4'), bytes);
    return await decodeVideo(join(dir, 'video.mp4'), { ffmpegPath });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('worker-decode process', () => {
  it('exits non-zero naming REDIS_URL when it is not a Redis URL', async () => {
    const app = startAppProcess('apps/worker-decode', { REDIS_URL: 'notaurl', S3_BUCKET: 'magicvideo', MODELS_DIR: SHIPPED_MODELS_DIR });
    expect((await app.exited).code).not.toBe(0);
    expect(app.stderr()).toContain('REDIS_URL: expected a redis:// or rediss:// URL, got "notaurl"');
  });

  it('exits non-zero naming the model folder when its models cannot be loaded', async () => {
    const harness = await startStageWorkerHarness();
    try {
      const app = startAppProcess('apps/worker-decode', { ...harness.services.env, MODELS_DIR: '/nonexistent/models', HEALTH_PORT: '0', NODE_ENV: 'test' });
      expect((await app.exited).code).toBe(1);
      expect(app.stdout()).toContain('worker failed to start');
      expect(app.stdout()).toContain('/nonexistent/models');
    } finally {
      await harness.stop();
    }
  });

  describe('running against real Redis and S3', () => {
    let worker: AppUnderTest;

    beforeAll(async () => {
      worker = await startAppUnderTest('apps/worker-decode', 'HEALTH_PORT', { SHUTDOWN_GRACE_MS: '5000', MODELS_DIR: SHIPPED_MODELS_DIR });
    });

    afterAll(async () => {
      await worker?.stop();
    });

    it('answers /healthz with 200, and /readyz with 200 once Redis, S3 and its models are ready', async () => {
      expect((await fetch(`${worker.baseUrl}/healthz`)).status).toBe(200);
      const ready = await waitForHttpStatus(`${worker.baseUrl}/readyz`, 200, 60_000);
      expect(ready.body).toEqual({ status: 'ok', checks: { redis: { ok: true }, s3: { ok: true }, models: { ok: true } } });
    });

    it('answers /readyz with 503 naming redis while Redis is down, and recovers without a restart', async () => {
      await worker.stopRedis();
      const down = await waitForHttpStatus(`${worker.baseUrl}/readyz`, 503);
      expect(down.body).toMatchObject({ status: 'unavailable', checks: { redis: { ok: false }, s3: { ok: true }, models: { ok: true } } });
      await worker.restartRedis();
      await waitForHttpStatus(`${worker.baseUrl}/readyz`, 200);
    });

    it('exits 0 on SIGTERM after closing the BullMQ worker and the model folder', async () => {
      worker.app.kill('SIGTERM');
      expect(await worker.app.exited).toEqual({ code: 0, signal: null });
      expect(worker.app.stdout()).toContain('"closer":"bullmq worker"');
      expect(worker.app.stdout()).toContain('"closer":"model folder"');
      expect(worker.app.stdout()).toContain('shutdown complete');
    });
  });

  describe('decode jobs', () => {
    let harness: StageWorkerHarness;
    let events: QueueEvents;
    let ffmpegPath: string;

    beforeAll(async () => {
      harness = await startStageWorkerHarness();
      events = await harness.queueEvents('decode');
      ffmpegPath = await resolveFfmpegPath();
      await harness.startWorker('decode');
    });
    afterAll(async () => harness?.stop());

    it('as the last stage of a flow without interpolation: frames, preview and video, the same bytes on a re-run', async () => {
      const params = harness.resolve({ prompt: 'a red circle', seed: 21, interpolate: false, superResolution: false, formats: ['mp4', 'gif'] });
      for (const videoId of ['decode-last', 'decode-last-again']) {
        await harness.createVideo(videoId, params);
        await harness.artifacts.putBytes(videoId, 'keyframes', latentsFile(16, 21), 'application/octet-stream');
      }
      const job = await harness.addStageJob(harness.stageJobData('decode-last', 'decode', params));
      const result = (await job.waitUntilFinished(events, 60_000)) as { outputs: Record<string, string> };
      expect(Object.keys(result.outputs).sort()).toEqual(['frames', 'preview', 'videoGif', 'videoMp4']);

      const frames = decodeSafetensors(await harness.artifacts.getBytes('decode-last', 'frames')).tensors.frames;
      expect(frames).toMatchObject({ dtype: 'U8', shape: [16, 64, 64, 3] });
      const preview = await harness.artifacts.getBytes('decode-last', 'preview');
      expect(Buffer.from(preview.subarray(0, 6)).toString('latin1')).toBe('GIF89a');
      const mp4 = await harness.artifacts.getBytes('decode-last', 'videoMp4');
      const video = await videoFrames(mp4, ffmpegPath);
      // Without interpolation the video plays at the FPS condition.
      expect(video).toMatchObject({ frameCount: 16, width: 64, height: 64, fps: params.fps });

      const record = await harness.store.get('decode-last');
      expect(record).toMatchObject({ status: 'succeeded', progress: 1, stageRecords: { decode: { state: 'completed', attempts: 1 } } });
      expect(record?.outputs).toMatchObject(result.outputs);

      const again = await harness.addStageJob(harness.stageJobData('decode-last-again', 'decode', params));
      await again.waitUntilFinished(events, 60_000);
      for (const artifact of ['frames', 'preview', 'videoMp4', 'videoGif'] as const) {
        const first = await harness.artifacts.getBytes('decode-last', artifact);
        const second = await harness.artifacts.getBytes('decode-last-again', artifact);
        expect(Buffer.from(second).equals(Buffer.from(first)), artifact).toBe(true);
      }
    });

    it('in the middle of a flow: decodes the interpolated latents and writes only the frames', async () => {
      const params = harness.resolve({ prompt: 'a blue square', seed: 22, interpolate: true, superResolution: true });
      await harness.createVideo('decode-middle', params);
      await harness.artifacts.putBytes('decode-middle', 'interp', latentsFile(61, 22), 'application/octet-stream');
      const job = await harness.addStageJob(harness.stageJobData('decode-middle', 'decode', params));
      expect(await job.waitUntilFinished(events, 60_000)).toEqual({ outputs: { frames: 'videos/decode-middle/frames.safetensors' } });
      const frames = decodeSafetensors(await harness.artifacts.getBytes('decode-middle', 'frames')).tensors.frames;
      expect(frames?.shape).toEqual([61, 64, 64, 3]);
      expect(await harness.store.get('decode-middle')).toMatchObject({ status: 'running', stageRecords: { decode: { state: 'completed' } } });
    });

    it('fails at once with ArtifactNotFound when its input was never written', async () => {
      const params = harness.resolve({ prompt: 'a green star', seed: 23, interpolate: false, superResolution: false });
      await harness.createVideo('decode-missing', params);
      const job = await harness.addStageJob(harness.stageJobData('decode-missing', 'decode', params));
      expect(await failureOf(job, events)).toBe('ArtifactNotFound: videos/decode-missing/keyframes.safetensors');
      expect((await harness.queue('decode').getJob(job.id!))?.attemptsMade).toBe(1);
      expect(await harness.store.get('decode-missing')).toMatchObject({ status: 'failed', error: { code: 'ArtifactNotFound', stage: 'decode' } });
    });

    it('fails bad job data at once with InvalidStageInput, spending no retry', async () => {
      const job = await harness.queue('decode').add('decode', { videoId: 'abc', stage: 'decode', params: {}, inputs: {} }, { attempts: 3 });
      expect(await failureOf(job, events)).toMatch(/^InvalidStageInput: job data: /);
      expect((await harness.queue('decode').getJob(job.id!))?.attemptsMade).toBe(1);
    });
  });
});
