import { type Job, Queue, QueueEvents, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StageName } from '../contracts/queue-names';
import { CancelListener, publishCancel } from '../jobs/cancel-channel';
import { StageDurations } from '../jobs/stage-durations';
import { stageJobId, type StageJobData } from '../jobs/stage-job';
import { stageInputs } from '../jobs/video-flow';
import { newVideoRecord } from '../jobs/video-record';
import { VideoStore } from '../jobs/video-store';
import { stageCompleted, stageStarted, videoCancelled } from '../jobs/video-transitions';
import { createLogger } from '../logging/logger';
import { denoisingStepSeconds, stageDurationSeconds, stageRetries, workerBusyJobs } from '../metrics/stage-metrics';
import { videosFinished } from '../metrics/video-metrics';
import { ArtifactStore } from '../storage/artifact-store';
import { createS3Client } from '../storage/s3-client';
import { startTestServices, type TestServices } from '../testing/test-services';
import { createStageProcessor, type StageHandler } from './stage-job-runner';
import { StageProgressWriter } from './stage-progress';

const logger = createLogger({ service: 'stage-job-runner-test', level: 'silent', nodeEnv: 'test' });
const stage: StageName = 'keyframe';

/** The current value of one series of a counter or gauge (metrics are process-wide: tests compare before and after). */
async function valueOf(metric: { get(): Promise<{ values: { labels: Record<string, unknown>; value: number; metricName?: string }[] }> }, labels: Record<string, string>, metricName?: string): Promise<number> {
  const { values } = await metric.get();
  const found = values.find((entry) => (metricName === undefined || entry.metricName === metricName) && Object.entries(labels).every(([key, value]) => entry.labels[key] === value));
  return found?.value ?? 0;
}
const params = {
  prompt: 'a red circle',
  negativePrompt: '',
  seed: 1,
  steps: 4,
  guidanceScale: 7.5,
  fps: 8,
  sampler: 'ddim' as const,
  interpolate: false,
  superResolution: false,
  interpSteps: 2,
  srSteps: 2,
  srNoiseLevel: 20,
  formats: ['mp4' as const],
};

/** An error as Node's sockets raise it when nothing listens: transient for storage and Redis. */
function connectionRefused(): Error {
  return Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
}

describe('createStageProcessor (real Redis, s3rver, an in-process BullMQ worker)', () => {
  let services: TestServices;
  let redis: Redis;
  let store: VideoStore;
  let artifacts: ArtifactStore;
  let cancels: CancelListener;
  let queue: Queue;
  let events: QueueEvents;
  let destroyS3: () => void;
  let videoCount = 0;

  beforeAll(async () => {
    services = await startTestServices();
    redis = new Redis(services.redis.url, { maxRetriesPerRequest: 1 });
    const s3 = createS3Client({
      endpoint: services.s3.endpoint,
      region: services.s3.region,
      credentials: { accessKeyId: services.s3.accessKeyId, secretAccessKey: services.s3.secretAccessKey },
      forcePathStyle: true,
    });
    destroyS3 = () => s3.destroy();
    artifacts = new ArtifactStore(s3, services.s3.bucket);
    store = new VideoStore({ redis, prefix: services.queuePrefix, artifacts });
    cancels = await CancelListener.start(services.redis.url, services.queuePrefix, logger);
    const connection = { url: services.redis.url };
    queue = new Queue(stage, { connection, prefix: services.queuePrefix });
    events = new QueueEvents(stage, { connection, prefix: services.queuePrefix });
    await events.waitUntilReady();
  });

  afterAll(async () => {
    await events?.close();
    await queue?.close();
    await cancels?.close();
    await redis?.quit();
    destroyS3?.();
    await services?.stop();
  });

  /** A new video (keyframe + decode) and its keyframe job's data. */
  async function newVideo(): Promise<StageJobData> {
    videoCount += 1;
    const videoId = `runner-${videoCount}`;
    await store.create(newVideoRecord({ id: videoId, owner: 'test', stages: ['keyframe', 'decode'], request: params }));
    return { videoId, stage, params, inputs: stageInputs(videoId, stage, ['keyframe', 'decode']), last: false };
  }

  /** Runs `handler` behind the processor in a worker of this process until `use` is done. */
  async function withWorker<T>(handler: StageHandler, use: () => Promise<T>, extra: Partial<Parameters<typeof createStageProcessor>[0]> = {}): Promise<T> {
    const worker = new Worker(stage, createStageProcessor({ stage, handler, store, cancels, artifacts, logger, ...extra }), {
      connection: { url: services.redis.url },
      prefix: services.queuePrefix,
    });
    try {
      return await use();
    } finally {
      await worker.close();
    }
  }

  function add(data: StageJobData, attempts: number): Promise<Job> {
    return queue.add(stage, data, { jobId: stageJobId(data.videoId, stage), attempts, backoff: { type: 'fixed', delay: 50 } });
  }

  async function failureOf(job: Job): Promise<string> {
    try {
      await job.waitUntilFinished(events, 30_000);
    } catch (error) {
      return (error as Error).message;
    }
    throw new Error(`job ${job.id} completed; expected it to fail`);
  }

  it('retries a transient storage failure after a backoff, reporting stage.retrying, then completes', async () => {
    const data = await newVideo();
    const retriesBefore = await valueOf(stageRetries, { stage });
    const retriedAttemptsBefore = await valueOf(stageDurationSeconds, { stage, outcome: 'retried' }, 'magicvideo_stage_duration_seconds_count');
    let calls = 0;
    const handler: StageHandler = async () => {
      calls += 1;
      if (calls === 1) throw connectionRefused();
      return { outputs: { keyframes: artifacts.key(data.videoId, 'keyframes') } };
    };
    await withWorker(handler, async () => {
      const job = await add(data, 3);
      expect(await job.waitUntilFinished(events, 30_000)).toEqual({ outputs: { keyframes: `videos/${data.videoId}/keyframes.safetensors` } });
    });
    expect(calls).toBe(2);
    const retrying = (await store.readEvents(data.videoId)).filter(({ event }) => event.type === 'stage.retrying');
    expect(retrying.map(({ event }) => event)).toEqual([
      { type: 'stage.retrying', stage, attempt: 1, error: { code: 'StorageUnavailable', message: 'connect ECONNREFUSED 127.0.0.1:9', stage } },
    ]);
    expect((await store.get(data.videoId))?.stageRecords.keyframe).toMatchObject({ state: 'completed', attempts: 2 });
    expect(await valueOf(stageRetries, { stage })).toBe(retriesBefore + 1);
    expect(await valueOf(stageDurationSeconds, { stage, outcome: 'retried' }, 'magicvideo_stage_duration_seconds_count')).toBe(retriedAttemptsBefore + 1);
    expect(await valueOf(workerBusyJobs, { stage })).toBe(0);
  });

  it('fails the video with the transient code once the attempts run out, counting it failed once', async () => {
    const data = await newVideo();
    const failedBefore = await valueOf(videosFinished, { status: 'failed' });
    const failure = await withWorker(
      async () => Promise.reject(connectionRefused()),
      async () => failureOf(await add(data, 2)),
    );
    expect(failure).toBe('StorageUnavailable: connect ECONNREFUSED 127.0.0.1:9');
    expect(await store.get(data.videoId)).toMatchObject({
      status: 'failed',
      error: { code: 'StorageUnavailable', stage },
      stageRecords: { keyframe: { state: 'failed', attempts: 2 } },
    });
    expect(await valueOf(videosFinished, { status: 'failed' })).toBe(failedBefore + 1);
  });

  it('fails at once with InternalError on anything it does not know (a bug)', async () => {
    const data = await newVideo();
    const job = await withWorker(
      async () => Promise.reject(new TypeError("Cannot read properties of undefined (reading 'dims')")),
      async () => {
        const added = await add(data, 3);
        expect(await failureOf(added)).toBe("InternalError: Cannot read properties of undefined (reading 'dims')");
        return added;
      },
    );
    expect((await queue.getJob(job.id!))?.attemptsMade).toBe(1);
    expect(await store.get(data.videoId)).toMatchObject({ status: 'failed', error: { code: 'InternalError', stage } });
  });

  it('keeps the code of a model or input error and fails at once', async () => {
    const data = await newVideo();
    const contractError = Object.assign(new Error('ModelContractViolation: unet/model.onnx: input "fps" missing'), { code: 'ModelContractViolation' });
    const failure = await withWorker(
      async () => Promise.reject(contractError),
      async () => failureOf(await add(data, 3)),
    );
    expect(failure).toBe('ModelContractViolation: unet/model.onnx: input "fps" missing');
    expect((await store.get(data.videoId))?.error).toEqual({ code: 'ModelContractViolation', message: 'unet/model.onnx: input "fps" missing', stage });
  });

  it('aborts the running stage when a cancel is published for its video', async () => {
    const data = await newVideo();
    const handler: StageHandler = async ({ signal, reportProgress }) => {
      reportProgress(1, 10);
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
      throw signal.reason;
    };
    const failure = await withWorker(handler, async () => {
      const job = await add(data, 3);
      // Once the record holds the step, the progress write is done: only the channel can abort now.
      while ((await store.get(data.videoId))?.stageRecords.keyframe?.step !== 1) await new Promise((resolve) => setTimeout(resolve, 20));
      await store.update(data.videoId, (record) => videoCancelled(record, new Date()));
      await publishCancel(redis, services.queuePrefix, data.videoId);
      return failureOf(job);
    });
    expect(failure).toBe(`StageCancelled: video ${data.videoId} was cancelled`);
    expect(await store.get(data.videoId)).toMatchObject({ status: 'cancelled', stageRecords: { keyframe: { state: 'cancelled' } } });
  });

  it('stops the stage at its next progress write when the cancel reached only the record', async () => {
    const data = await newVideo();
    let steps = 0;
    const handler: StageHandler = async ({ signal, reportProgress }) => {
      for (let step = 1; step <= 200; step++) {
        if (signal.aborted) throw signal.reason;
        reportProgress(step, 200);
        steps = step;
        await new Promise((resolve) => setTimeout(resolve, 120));
      }
      return { outputs: {} };
    };
    const failure = await withWorker(handler, async () => {
      const job = await add(data, 3);
      await new Promise<void>((resolve) => events.on('progress', ({ jobId }) => jobId === job.id && resolve()));
      await store.update(data.videoId, (record) => videoCancelled(record, new Date()));
      return failureOf(job);
    });
    expect(failure).toBe(`StageCancelled: video ${data.videoId} is cancelled`);
    expect(steps).toBeLessThan(200);
  });

  it('does no work for a stage the record shows completed (a re-run after a crash), and returns the recorded outputs', async () => {
    const data = await newVideo();
    const outputs = { text: artifacts.key(data.videoId, 'text'), keyframes: artifacts.key(data.videoId, 'keyframes') };
    await store.update(data.videoId, (record) => stageStarted(record, stage, 1, new Date()));
    await store.update(data.videoId, (record) => stageCompleted(record, stage, outputs, new Date()));
    let calls = 0;
    const result = await withWorker(
      async () => {
        calls += 1;
        return { outputs: {} };
      },
      async () => (await add(data, 3)).waitUntilFinished(events, 30_000),
    );
    expect(calls).toBe(0);
    expect(result).toEqual({ outputs });
  });

  it('times every denoising step after the first from its progress reports, even those whose progress write is throttled', async () => {
    const data = await newVideo();
    const stepsBefore = await valueOf(denoisingStepSeconds, { stage }, 'magicvideo_denoising_step_seconds_count');
    await withWorker(
      async (job) => {
        for (let step = 1; step <= 4; step++) job.reportProgress(step, 4);
        return { outputs: { keyframes: artifacts.key(data.videoId, 'keyframes') } };
      },
      async () => (await add(data, 1)).waitUntilFinished(events, 30_000),
    );
    expect(await valueOf(denoisingStepSeconds, { stage }, 'magicvideo_denoising_step_seconds_count')).toBe(stepsBefore + 3);
  });

  it('writes progress in step order, always the final step, and skips steps closer than the interval', async () => {
    const data = await newVideo();
    await store.update(data.videoId, (record) => stageStarted(record, stage, 1, new Date()));
    const job = await queue.add('progress-only', data);
    const progress = new StageProgressWriter({
      job,
      videoId: data.videoId,
      stage,
      store,
      logger,
      now: () => new Date(),
      minIntervalMs: 60_000,
      onVideoTerminal: () => undefined,
    });
    for (let step = 1; step <= 4; step++) progress.report(step, 4);
    await progress.flush();
    const written = (await store.readEvents(data.videoId)).flatMap(({ event }) => (event.type === 'progress' ? [event.step] : []));
    expect(written).toEqual([1, 4]);
    expect((await queue.getJob(job.id!))?.progress).toEqual({ stage, step: 4, totalSteps: 4 });
  });

  describe('deadlines, timeouts and durations (issue 15)', () => {
    it('fails a hung attempt as StageTimeout once the stage timeout passes, and the video with it when no attempt is left', async () => {
      const data = await newVideo();
      const hung: StageHandler = () => new Promise(() => undefined);
      const message = await withWorker(hung, async () => failureOf(await add(data, 1)), { timeoutMs: 300 });
      expect(message).toMatch(/StageTimeout/);
      expect(await store.get(data.videoId)).toMatchObject({ status: 'failed', error: { code: 'StageTimeout', stage } });
    });

    it('does no work for a video already past its deadline: it ends expired, never started', async () => {
      const data = await newVideo();
      await store.update(data.videoId, (record) => ({ record: { ...record, deadlineAt: new Date(Date.now() - 1).toISOString() }, events: [] }));
      let ran = false;
      const message = await withWorker(
        async () => {
          ran = true;
          return { outputs: {} };
        },
        async () => failureOf(await add(data, 1)),
      );
      expect(message).toMatch(/StageCancelled/);
      expect(ran).toBe(false);
      expect(await store.get(data.videoId)).toMatchObject({ status: 'expired', reason: 'deadline' });
    });

    it('stops a running stage at the video’s deadline: cancelled with reason deadline', async () => {
      const data = await newVideo();
      await store.update(data.videoId, (record) => ({ record: { ...record, deadlineAt: new Date(Date.now() + 1500).toISOString() }, events: [] }));
      const slow: StageHandler = async ({ signal }) => {
        for (let step = 0; step < 200; step += 1) {
          if (signal.aborted) throw signal.reason;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        return { outputs: {} };
      };
      const message = await withWorker(slow, async () => failureOf(await add(data, 1)));
      expect(message).toMatch(/StageCancelled/);
      expect(await store.get(data.videoId)).toMatchObject({ status: 'cancelled', reason: 'deadline', stageRecords: { keyframe: { state: 'cancelled' } } });
    });

    it('records each completed stage’s duration for queue estimates and progress weights', async () => {
      const data = await newVideo();
      const durations = new StageDurations(redis, services.queuePrefix);
      await withWorker(async () => ({ outputs: {} }), async () => (await add(data, 1)).waitUntilFinished(events, 30_000), { durations });
      const durationMs = (await store.get(data.videoId))?.stageRecords.keyframe?.durationMs;
      expect(durationMs).toBeDefined();
      expect(await redis.lrange(`${services.queuePrefix}:stage-durations:${stage}`, 0, -1)).toEqual([String(Math.round(durationMs ?? -1))]);
      expect(await durations.means([stage, 'decode'])).toEqual({ [stage]: Math.round(durationMs ?? -1) });
    });
  });
});
