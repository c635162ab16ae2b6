import { encodeText, generateKeyframes, openModelFolder } from '@magicvideo/diffusion';
import { ArtifactNotFound, decodeSafetensors, type StageJobProgress } from '@magicvideo/shared';
import { type Job, type QueueEvents, Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StageWorkerHarness, type StageWorkerProcess, startStageWorkerHarness, SHIPPED_MODELS_DIR } from '@magicvideo/shared/testing';

/** Resolves with the first progress event of the job that `accept` takes. */
function progressOf(events: QueueEvents, jobId: string, accept: (progress: StageJobProgress) => boolean): Promise<StageJobProgress> {
  return new Promise((resolve) => {
    const listener = ({ jobId: id, data }: { jobId: string; data: unknown }) => {
      if (id !== jobId || !accept(data as StageJobProgress)) return;
      events.off('progress', listener);
      resolve(data as StageJobProgress);
    };
    events.on('progress', listener);
  });
}

async function failureOf(job: Job, events: QueueEvents): Promise<string> {
  try {
    await job.waitUntilFinished(events, 60_000);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error(`job ${job.id} completed; expected it to fail`);
}

describe('worker-keyframe', () => {
  let harness: StageWorkerHarness;
  let events: QueueEvents;

  beforeAll(async () => {
    harness = await startStageWorkerHarness();
    events = await harness.queueEvents('keyframe');
  });
  afterAll(async () => harness?.stop());

  describe('one worker (each model call lasting at least 150 ms)', () => {
    let worker: StageWorkerProcess;
    beforeAll(async () => {
      worker = await harness.startWorker('keyframe', { DEBUG_MODEL_CALL_MIN_MS: '150' });
    });
    // The lock and SIGKILL tests below need the queue to themselves.
    afterAll(async () => {
      worker?.app.kill('SIGTERM');
      await worker?.app.exited;
    });

    it('answers /readyz with the models check once they are loaded', async () => {
      const ready = await fetch(`${worker.url}/readyz`);
      expect(await ready.json()).toEqual({ status: 'ok', checks: { redis: { ok: true }, s3: { ok: true }, models: { ok: true } } });
    });

    it('writes text and key-frame latents equal to the in-process stage functions, and records the stage', async () => {
      const params = harness.resolve({ prompt: 'a red circle moving right', seed: 7, interpolate: false, superResolution: false });
      await harness.createVideo('kf-complete', params);
      const job = await harness.addStageJob(harness.stageJobData('kf-complete', 'keyframe', params));
      const result = (await job.waitUntilFinished(events, 60_000)) as { outputs: Record<string, string> };
      expect(result.outputs).toEqual({ text: 'videos/kf-complete/text.safetensors', keyframes: 'videos/kf-complete/keyframes.safetensors' });

      const text = decodeSafetensors(await harness.artifacts.getBytes('kf-complete', 'text')).tensors;
      expect(text.cond).toMatchObject({ dtype: 'F32', shape: [1, 77, 128] });
      expect(text.uncond).toMatchObject({ dtype: 'F32', shape: [1, 77, 128] });
      const keyframes = decodeSafetensors(await harness.artifacts.getBytes('kf-complete', 'keyframes'));
      expect(keyframes.tensors.latents).toMatchObject({ dtype: 'F32', shape: [1, 4, 16, 8, 8] });
      expect(keyframes.metadata).toEqual({ fps: String(params.fps) });

      // The distributed stage and the in-process pipeline call the same functions: same bytes.
      const folder = await openModelFolder(SHIPPED_MODELS_DIR, { executionProviders: ['cpu'], intraOpNumThreads: 1 });
      try {
        const local = await encodeText(folder, { prompt: params.prompt, negativePrompt: params.negativePrompt });
        const latents = await generateKeyframes(folder, local, {
          seed: params.seed,
          steps: params.steps,
          guidanceScale: params.guidanceScale,
          sampler: params.sampler,
          fps: params.fps,
        });
        expect(keyframes.tensors.latents?.data).toEqual(latents.data);
        expect(text.cond?.data).toEqual(local.cond.data);
      } finally {
        await folder.close();
      }

      const record = await harness.store.get('kf-complete');
      expect(record).toMatchObject({ status: 'running', stage: 'keyframe', outputs: result.outputs });
      const stage = record?.stageRecords.keyframe;
      expect(stage).toMatchObject({ state: 'completed', step: params.steps, totalSteps: params.steps, progress: 1, attempts: 1 });
      expect(stage?.durationMs).toBeGreaterThan(0);
      expect(stage?.waitMs).toBeGreaterThanOrEqual(0);
      expect(Date.parse(stage!.finishedAt!)).toBeGreaterThanOrEqual(Date.parse(stage!.startedAt!));
      expect(record?.stageRecords.decode?.queuedAt).toBe(stage?.finishedAt);
      const types = (await harness.store.readEvents('kf-complete')).map(({ event }) => event.type);
      expect(types[0]).toBe('status');
      expect(types).toContain('stage.started');
      expect(types).toContain('progress');
      expect(types.at(-1)).toBe('stage.completed');
    });

    it('fails bad job data at once with InvalidStageInput, spending no retry', async () => {
      const job = await harness.queue('keyframe').add('keyframe', { videoId: 'abc', stage: 'keyframe', params: {}, inputs: {}, last: false }, { attempts: 3 });
      expect(await failureOf(job, events)).toMatch(/^InvalidStageInput: job data: params\.prompt/);
      const failed = await harness.queue('keyframe').getJob(job.id!);
      expect(failed?.attemptsMade).toBe(1);
    });

    it('fails an image-to-video job whose init upload is not an image with InvalidStageInput (InvalidInit)', async () => {
      const params = harness.resolve({ prompt: 'a blue square', seed: 3, interpolate: false, superResolution: false, init: { source: 'image', strength: 0.5 } });
      await harness.createVideo('kf-bad-init', params);
      await harness.artifacts.putBytes('kf-bad-init', 'init', new TextEncoder().encode('not an image at all'), 'image/png');
      const job = await harness.addStageJob(harness.stageJobData('kf-bad-init', 'keyframe', params));
      expect(await failureOf(job, events)).toMatch(/^InvalidStageInput: InvalidInit: the init image cannot be decoded/);
      expect((await harness.queue('keyframe').getJob(job.id!))?.attemptsMade).toBe(1);
      expect(await harness.store.get('kf-bad-init')).toMatchObject({
        status: 'failed',
        error: { code: 'InvalidStageInput', stage: 'keyframe' },
        stageRecords: { keyframe: { state: 'failed' } },
      });
    });

    it('does no work for a video cancelled before its job starts', async () => {
      const params = harness.resolve({ prompt: 'a green triangle', seed: 5, interpolate: false, superResolution: false });
      await harness.createVideo('kf-cancelled-early', params);
      await harness.cancel('kf-cancelled-early');
      const job = await harness.addStageJob(harness.stageJobData('kf-cancelled-early', 'keyframe', params));
      expect(await failureOf(job, events)).toMatch(/^StageCancelled: video kf-cancelled-early is cancelled/);
      await expect(harness.artifacts.getBytes('kf-cancelled-early', 'text')).rejects.toBeInstanceOf(ArtifactNotFound);
      expect((await harness.store.get('kf-cancelled-early'))?.status).toBe('cancelled');
    });

    it('stops within a step when the video is cancelled during key-frame generation', async () => {
      const params = harness.resolve({ prompt: 'a red circle moving left', seed: 11, steps: 20, interpolate: false, superResolution: false });
      await harness.createVideo('kf-cancel', params);
      const job = await harness.addStageJob(harness.stageJobData('kf-cancel', 'keyframe', params));
      await progressOf(events, job.id!, (progress) => progress.step >= 1);
      const atCancel = (await harness.queue('keyframe').getJob(job.id!))?.progress as StageJobProgress;
      await harness.cancel('kf-cancel');

      expect(await failureOf(job, events)).toMatch(/^StageCancelled/);
      const failed = await harness.queue('keyframe').getJob(job.id!);
      const last = failed?.progress as StageJobProgress;
      // The step running when the cancel lands finishes; one more may have begun between reading
      // the progress and publishing the cancel. Nothing after that.
      expect(last.step).toBeLessThanOrEqual(atCancel.step + 2);
      expect(last.step).toBeLessThan(params.steps);
      expect(failed?.attemptsMade).toBe(1);
      await expect(harness.artifacts.getBytes('kf-cancel', 'keyframes')).rejects.toBeInstanceOf(ArtifactNotFound);
      expect(await harness.store.get('kf-cancel')).toMatchObject({ status: 'cancelled', stageRecords: { keyframe: { state: 'cancelled' } } });
    });
  });

  it('runs a job whose single model call outlasts the lock exactly once, never stalled (DESIGN.md §3, "Locks")', async () => {
    const env = { DEBUG_MODEL_CALL_MIN_MS: '1500', LOCK_DURATION_MS: '1000', STALLED_INTERVAL_MS: '500' };
    const worker = await harness.startWorker('keyframe', env);
    const stalled: string[] = [];
    events.on('stalled', ({ jobId }) => stalled.push(jobId));
    const params = harness.resolve({ prompt: 'a yellow star', seed: 13, steps: 2, interpolate: false, superResolution: false });
    await harness.createVideo('kf-lock', params);
    const active = new Promise<void>((resolve) => events.on('active', ({ jobId }) => jobId === 'kf-lock.keyframe' && resolve()));
    const job = await harness.addStageJob(harness.stageJobData('kf-lock', 'keyframe', params));
    await active;
    // A second worker on the queue whose only use is its stalled-job check, every 500 ms, from
    // another process's point of view: had the lock lapsed during a model call, it would see it.
    const watchdog = new Worker('keyframe', async () => Promise.reject(new Error('the watchdog runs no job')), {
      connection: { url: harness.services.redis.url },
      prefix: harness.services.queuePrefix,
      lockDuration: 1000,
      stalledInterval: 500,
    });
    try {
      await job.waitUntilFinished(events, 60_000);
    } finally {
      await watchdog.close();
      worker.app.kill('SIGTERM');
      await worker.app.exited;
    }
    expect(stalled).toEqual([]);
    const finished = await harness.queue('keyframe').getJob(job.id!);
    expect(finished).toMatchObject({ attemptsMade: 1, attemptsStarted: 1, stalledCounter: 0 });
    expect((await harness.store.get('kf-lock'))?.stageRecords.keyframe).toMatchObject({ state: 'completed', attempts: 1 });
    const starts = (await harness.store.readEvents('kf-lock')).filter(({ event }) => event.type === 'stage.started');
    expect(starts).toHaveLength(1);
  });

  it('finishes a job whose worker was killed mid-generation on another worker, with the bytes of an uninterrupted run', async () => {
    const env = { DEBUG_MODEL_CALL_MIN_MS: '300', LOCK_DURATION_MS: '2000', STALLED_INTERVAL_MS: '1000' };
    const doomed = await harness.startWorker('keyframe', env);
    const params = harness.resolve({ prompt: 'a red circle moving right', seed: 17, steps: 8, interpolate: false, superResolution: false });
    await harness.createVideo('kf-killed', params);
    const job = await harness.addStageJob(harness.stageJobData('kf-killed', 'keyframe', params));
    await progressOf(events, job.id!, (progress) => progress.step >= 1);
    await harness.killWorker(doomed);

    const survivor = await harness.startWorker('keyframe', env);
    try {
      await job.waitUntilFinished(events, 90_000);
      await harness.createVideo('kf-uninterrupted', params);
      const reference = await harness.addStageJob(harness.stageJobData('kf-uninterrupted', 'keyframe', params));
      await reference.waitUntilFinished(events, 60_000);
    } finally {
      survivor.app.kill('SIGTERM');
      await survivor.app.exited;
    }
    const resumed = await harness.artifacts.getBytes('kf-killed', 'keyframes');
    const uninterrupted = await harness.artifacts.getBytes('kf-uninterrupted', 'keyframes');
    expect(Buffer.from(resumed).equals(Buffer.from(uninterrupted))).toBe(true);
    const record = await harness.store.get('kf-killed');
    // The killed attempt and the one that finished.
    expect(record?.stageRecords.keyframe).toMatchObject({ state: 'completed', attempts: 2 });
    expect((await harness.queue('keyframe').getJob(job.id!))?.stalledCounter).toBe(1);
  });
});
