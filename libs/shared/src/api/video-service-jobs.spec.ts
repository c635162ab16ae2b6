import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { FlowProducer, type Job, Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STAGE_NAMES, type StageName } from '../contracts/queue-names';
import { stageJobId } from '../jobs/stage-job';
import { StageDurations } from '../jobs/stage-durations';
import { VideoStore } from '../jobs/video-store';
import { VideoSweeper } from '../jobs/video-sweeper';
import { stageCompleted, stageStarted, videoFailed } from '../jobs/video-transitions';
import { manifestSchema } from '../model-folder/manifest';
import { ArtifactStore } from '../storage/artifact-store';
import { createS3Client } from '../storage/s3-client';
import { REPO_ROOT } from '../testing/app-process';
import { startTestServices, type TestServices } from '../testing/test-services';
import { VideoService, type VideoServiceOptions } from './video-service';

/**
 * Issue 15's job API on real Redis and S3, with the test playing the workers (taking stage jobs by
 * hand and driving the record as a worker would): queue places, priorities, deadlines, Prefer:
 * wait, retry and retention. The same behaviours run end to end with worker processes in
 * apps/api/test/job-api.e2e.spec.ts.
 */

const FLOW = { interpolate: false, super_resolution: false, num_inference_steps: 2 };

describe('VideoService: the job API of issue 15', () => {
  let services: TestServices;
  let redis: Redis;
  let options: VideoServiceOptions;
  let service: VideoService;
  let flowProducer: FlowProducer;
  let queues: Record<StageName, Queue>;
  let s3: ReturnType<typeof createS3Client>;
  let store: VideoStore;
  let artifacts: ArtifactStore;

  beforeAll(async () => {
    services = await startTestServices();
    redis = new Redis(services.redis.url, { maxRetriesPerRequest: null });
    s3 = createS3Client({ ...services.s3, credentials: services.s3 });
    artifacts = new ArtifactStore(s3, services.s3.bucket);
    const manifestJson = await readFile(path.join(REPO_ROOT, 'assets/models/magicvideo-shapes/model_index.json'), 'utf8');
    flowProducer = new FlowProducer({ connection: redis, prefix: services.queuePrefix });
    queues = Object.fromEntries(STAGE_NAMES.map((stage) => [stage, new Queue(stage, { connection: redis, prefix: services.queuePrefix })])) as Record<
      StageName,
      Queue
    >;
    store = new VideoStore({ redis, prefix: services.queuePrefix, artifacts });
    options = {
      store,
      artifacts,
      flowProducer,
      queues,
      redis,
      queuePrefix: services.queuePrefix,
      manifest: manifestSchema.parse(JSON.parse(manifestJson)),
      presignExpirySeconds: 60,
      attempts: 1,
      backoffMs: 10,
      jobPolicy: { maxPriority: 10, maxPriorityByKey: { vip: 100 }, maxDeadlineSeconds: 3600 },
      retention: { intermediateSeconds: 60, resultSeconds: 120 },
      // every read sees the queue as it is now (the default reuses a read for a second)
      queueLoadTtlMs: 0,
    };
    service = new VideoService(options);
  }, 60_000);

  afterAll(async () => {
    await flowProducer?.close();
    await Promise.all(Object.values(queues ?? {}).map((queue) => queue.close()));
    await redis?.quit();
    s3?.destroy();
    await services?.stop();
  });

  /** Takes the next job of a stage's queue, as a worker would. */
  async function takeNext(stage: StageName): Promise<{ job: Job; done: () => Promise<void> }> {
    const worker = new Worker(stage, null, { connection: redis, prefix: services.queuePrefix });
    const token = `t-${Math.random()}`;
    const job = (await worker.getNextJob(token, { block: false })) as Job;
    return {
      job,
      done: async () => {
        await job.moveToCompleted({ outputs: {} }, token, false);
        await worker.close();
      },
    };
  }

  async function drain(stage: StageName): Promise<void> {
    await queues[stage].drain(true);
  }

  it('reports queued videos at positions 1, 2, 3, falling as each starts, with an estimate once durations are measured', async () => {
    await drain('keyframe');
    const ids: string[] = [];
    for (const prompt of ['first', 'second', 'third']) ids.push((await service.submit('alice', { prompt, ...FLOW })).id);
    const places = async () => Promise.all(ids.map(async (id) => (await service.get('alice', id)).queue?.position ?? null));
    expect(await places()).toEqual([1, 2, 3]);
    // no worker serves the queue and nothing was measured: no estimate
    expect((await service.get('alice', ids[0] ?? '')).queue).toEqual({ stage: 'keyframe', position: 1, estimated_start_at: null });

    const first = await takeNext('keyframe');
    expect(first.job.id).toBe(stageJobId(ids[0] ?? '', 'keyframe'));
    await store.update(ids[0] ?? '', (record) => stageStarted(record, 'keyframe', 1, new Date()));
    expect(await places()).toEqual([null, 1, 2]);

    // with a measured duration and a worker on the queue, an estimate appears; the one behind waits longer
    await new StageDurations(redis, services.queuePrefix).record('keyframe', 4000);
    const second = await service.get('alice', ids[1] ?? '');
    const third = await service.get('alice', ids[2] ?? '');
    const waitWorker = new Worker('keyframe', null, { connection: redis, prefix: services.queuePrefix });
    try {
      const [secondWithWorker, thirdWithWorker] = [await service.get('alice', ids[1] ?? ''), await service.get('alice', ids[2] ?? '')];
      expect(second.queue?.position).toBe(1);
      expect(third.queue?.position).toBe(2);
      const startOf = (video: typeof secondWithWorker) => Date.parse(video.queue?.estimated_start_at ?? 'x');
      expect(startOf(thirdWithWorker)).toBeGreaterThan(startOf(secondWithWorker));
    } finally {
      await waitWorker.close();
    }
    await first.done();
    await drain('keyframe');
  });

  it('weighs overall progress by the stages’ measured durations', async () => {
    const durations = new StageDurations(redis, services.queuePrefix);
    await durations.record('keyframe', 3000);
    await durations.record('decode', 1000);
    const { id } = await service.submit('alice', { prompt: 'weighed', ...FLOW });
    const record = await store.get(id);
    // keyframe's mean is (4000 + 3000) / 2 with the sample of the test before
    expect(record?.stageWeights).toEqual({ keyframe: 3500 / 4500, decode: 1000 / 4500 });
    await store.update(id, (current) => stageStarted(current, 'keyframe', 1, new Date()));
    await store.update(id, (current) => stageCompleted(current, 'keyframe', {}, new Date()));
    expect((await service.get('alice', id)).progress).toBeCloseTo(3500 / 4500);
    await drain('keyframe');
  });

  it('bounds priority per API key and puts a higher one first in its queue', async () => {
    await drain('keyframe');
    await expect(service.submit('alice', { prompt: 'pushy', priority: 11, ...FLOW })).rejects.toMatchObject({ code: 'InvalidPriority', field: 'priority' });
    await expect(service.submit('alice', { prompt: 'odd', priority: 1.5, ...FLOW })).rejects.toMatchObject({ code: 'InvalidRequest' });
    const normal = [await service.submit('alice', { prompt: 'a', ...FLOW }), await service.submit('alice', { prompt: 'b', priority: -5, ...FLOW })];
    const vip = await service.submit('vip', { prompt: 'urgent', priority: 50, ...FLOW });
    expect((await service.get('vip', vip.id)).queue?.position).toBe(1);
    expect((await service.get('vip', vip.id)).priority).toBe(50);
    expect((await service.get('alice', normal[0]?.id ?? '')).queue?.position).toBe(2);
    expect((await service.get('alice', normal[1]?.id ?? '')).queue?.position).toBe(3);
    await drain('keyframe');
  });

  it('gives every video a deadline: Cancel-After, else the server maximum; refuses a bad or longer one', async () => {
    const before = Date.now();
    const short = await service.get('alice', (await service.submit('alice', { prompt: 'short', ...FLOW }, undefined, { cancelAfter: '2s' })).id);
    const plain = await service.get('alice', (await service.submit('alice', { prompt: 'plain', ...FLOW })).id);
    expect(Date.parse(short.deadline_at ?? '') - before).toBeGreaterThanOrEqual(2000);
    expect(Date.parse(short.deadline_at ?? '') - Date.now()).toBeLessThanOrEqual(2000);
    expect(Date.parse(plain.deadline_at ?? '') - before).toBeGreaterThanOrEqual(3600_000);
    await expect(service.submit('alice', { prompt: 'x', ...FLOW }, undefined, { cancelAfter: '2h' })).rejects.toMatchObject({ code: 'InvalidCancelAfter' });
    await expect(service.submit('alice', { prompt: 'x', ...FLOW }, undefined, { cancelAfter: 'soon' })).rejects.toMatchObject({ code: 'InvalidCancelAfter' });
    await drain('keyframe');
  });

  it('the sweeper expires a video that never started and cancels a running one at its deadline, removing their waiting jobs', async () => {
    const sweeperNow = { offsetMs: 0 };
    const sweeper = new VideoSweeper({
      store,
      redis,
      prefix: services.queuePrefix,
      queues,
      s3,
      bucket: services.s3.bucket,
      retention: { intermediateSeconds: 60, resultSeconds: 120 },
      logger: pino({ level: 'silent' }),
      now: () => new Date(Date.now() + sweeperNow.offsetMs),
    });
    const waiting = await service.submit('alice', { prompt: 'never starts', ...FLOW }, undefined, { cancelAfter: '1s' });
    const running = await service.submit('alice', { prompt: 'runs late', ...FLOW }, undefined, { cancelAfter: '1s' });
    await store.update(running.id, (record) => stageStarted(record, 'keyframe', 1, new Date()));
    await sweeper.sweep();
    expect((await service.get('alice', waiting.id)).status).toBe('queued');

    sweeperNow.offsetMs = 1500;
    await sweeper.sweep();
    const expired = await service.get('alice', waiting.id);
    expect(expired).toMatchObject({ status: 'expired', reason: 'deadline', queue: null });
    expect(expired.runs).toMatchObject([{ run: 1, status: 'expired', reason: 'deadline' }]);
    expect(await service.get('alice', running.id)).toMatchObject({ status: 'cancelled', reason: 'deadline' });
    expect(await queues.keyframe.getJobState(stageJobId(waiting.id, 'keyframe'))).toBe('unknown');
    expect(await queues.decode.getJobState(stageJobId(running.id, 'decode'))).toBe('unknown');
    await drain('keyframe');
  });

  it('Prefer: wait answers the ended video when it ends in time, and nothing when the wait runs out', async () => {
    const { id } = await service.submit('alice', { prompt: 'quick', ...FLOW });
    expect(await service.waitForEnd('alice', id, 200, new AbortController().signal)).toBeUndefined();
    const waited = service.waitForEnd('alice', id, 10_000, new AbortController().signal);
    for (const stage of ['keyframe', 'decode'] as const) {
      await store.update(id, (record) => stageStarted(record, stage, 1, new Date()));
      await store.update(id, (record) => stageCompleted(record, stage, stage === 'decode' ? { videoMp4: artifacts.key(id, 'videoMp4') } : {}, new Date()));
    }
    const video = await waited;
    expect(video?.status).toBe('succeeded');
    expect(video?.result?.videos[0]?.url).toContain(`videos/${id}/video.mp4`);
    await drain('keyframe');
  });

  it('retries a failed video from its first unfinished stage as a new run, and refuses one that has not ended', async () => {
    await drain('keyframe');
    await drain('decode');
    const { id } = await service.submit('alice', { prompt: 'fails late', ...FLOW });
    await expect(service.retry('alice', id)).rejects.toMatchObject({ code: 'VideoNotRetryable' });
    const keyframe = await takeNext('keyframe');
    await store.update(id, (record) => stageStarted(record, 'keyframe', 1, new Date()));
    await store.update(id, (record) => stageCompleted(record, 'keyframe', { keyframes: artifacts.key(id, 'keyframes') }, new Date()));
    await keyframe.done();
    const failing = await takeNext('decode');
    expect(failing.job.id).toBe(stageJobId(id, 'decode'));
    await store.update(id, (record) => stageStarted(record, 'decode', 1, new Date()));
    await store.update(id, (record) => videoFailed(record, { code: 'InternalError', message: 'injected', stage: 'decode' }, new Date()));
    await failing.done();

    const retried = await service.retry('alice', id);
    expect(retried).toMatchObject({ status: 'queued', error: null, queue: { stage: 'decode', position: 1 } });
    expect(retried.runs.map((run) => [run.run, run.from_stage, run.status])).toEqual([
      [1, 'keyframe', 'failed'],
      [2, 'decode', null],
    ]);
    expect(retried.stages.keyframe?.state).toBe('completed');
    expect(await queues.keyframe.getJobState(stageJobId(id, 'keyframe', 2))).toBe('unknown');
    const decode = await takeNext('decode');
    expect(decode.job.id).toBe(stageJobId(id, 'decode', 2));
    expect(decode.job.data).toMatchObject({ stage: 'decode', inputs: { keyframes: artifacts.key(id, 'keyframes') }, last: true });
    await decode.done();
  });

  it('retention deletes the intermediates, then the results; the video then answers VideoExpired with when', async () => {
    const { id } = await service.submit('alice', { prompt: 'kept a while', ...FLOW });
    await drain('keyframe');
    const bytes = new Uint8Array([1, 2, 3]);
    const keyframes = await artifacts.putBytes(id, 'keyframes', bytes, 'application/octet-stream');
    const mp4 = await artifacts.putBytes(id, 'videoMp4', bytes, 'video/mp4');
    for (const stage of ['keyframe', 'decode'] as const) {
      await store.update(id, (record) => stageStarted(record, stage, 1, new Date()));
      await store.update(id, (record) => stageCompleted(record, stage, stage === 'keyframe' ? { keyframes } : { videoMp4: mp4 }, new Date()));
    }
    const ended = await service.get('alice', id);
    expect(Date.parse(ended.expires_at ?? '')).toBe(Date.parse(ended.finished_at ?? '') + 120_000);
    const exists = async (key: string) =>
      s3.send(new HeadObjectCommand({ Bucket: services.s3.bucket, Key: key })).then(
        () => true,
        () => false,
      );
    const clock = { offsetMs: 0 };
    const sweeper = new VideoSweeper({
      store,
      redis,
      prefix: services.queuePrefix,
      queues,
      s3,
      bucket: services.s3.bucket,
      retention: { intermediateSeconds: 60, resultSeconds: 120 },
      logger: pino({ level: 'silent' }),
      now: () => new Date(Date.now() + clock.offsetMs),
    });
    await sweeper.sweep();
    expect([await exists(keyframes), await exists(mp4)]).toEqual([true, true]);

    clock.offsetMs = 61_000;
    await sweeper.sweep();
    expect([await exists(keyframes), await exists(mp4)]).toEqual([false, true]);
    expect((await service.get('alice', id)).status).toBe('succeeded');

    clock.offsetMs = 121_000;
    await sweeper.sweep();
    expect(await exists(mp4)).toBe(false);
    const error = await service.get('alice', id).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).toMatchObject({ code: 'VideoExpired', videoId: id });
    expect(Date.parse((error as { expiredAt: string }).expiredAt)).toBeGreaterThan(Date.parse(ended.finished_at ?? ''));
    // job.json keeps the record (and so the 410) after Redis lets the record go
    await redis.del(`${services.queuePrefix}:video:${id}`);
    await expect(service.get('alice', id)).rejects.toMatchObject({ code: 'VideoExpired' });
    await expect(service.retry('alice', id)).rejects.toMatchObject({ code: 'VideoExpired' });
  });
});
