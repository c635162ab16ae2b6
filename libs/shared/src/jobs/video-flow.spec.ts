import { FlowProducer, Queue, Worker, type FlowJob, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STAGE_NAMES, type StageName } from '../contracts/queue-names';
import { startTestServices, type TestServices } from '../testing';
import { stageCancelledReason } from './cancel-channel';
import { queuePosition } from './queue-position';
import { stageJobDataSchema, stageJobId } from './stage-job';
import { resolvedRequestFixture } from './video-record.fixture';
import { buildVideoFlow, removeWaitingStageJobs, stageInputs, stagesFor } from './video-flow';

describe('stagesFor and stageInputs', () => {
  it('leave optional stages out, never replace them', () => {
    expect(stagesFor({ interpolate: true, superResolution: true })).toEqual(['keyframe', 'interp', 'decode', 'sr']);
    expect(stagesFor({ interpolate: false, superResolution: true })).toEqual(['keyframe', 'decode', 'sr']);
    expect(stagesFor({ interpolate: true, superResolution: false })).toEqual(['keyframe', 'interp', 'decode']);
    expect(stagesFor({ interpolate: false, superResolution: false })).toEqual(['keyframe', 'decode']);
  });

  it('point each stage at the artifacts the stage before it wrote', () => {
    const all = [...STAGE_NAMES];
    expect(stageInputs('v1', 'keyframe', all)).toEqual({ request: 'videos/v1/request.json' });
    expect(stageInputs('v1', 'interp', all)).toEqual({ keyframes: 'videos/v1/keyframes.safetensors', text: 'videos/v1/text.safetensors' });
    expect(stageInputs('v1', 'decode', all)).toEqual({ interp: 'videos/v1/interp.safetensors' });
    expect(stageInputs('v1', 'decode', ['keyframe', 'decode'])).toEqual({ keyframes: 'videos/v1/keyframes.safetensors' });
    expect(stageInputs('v1', 'sr', all)).toEqual({ frames: 'videos/v1/frames.safetensors' });
  });
});

describe('buildVideoFlow', () => {
  it('makes the last stage the root and the first stage the deepest leaf, each job with its options and data', () => {
    const params = resolvedRequestFixture({ interpolate: false });
    const stages: StageName[] = ['keyframe', 'decode', 'sr'];
    const firstInputs = { request: 'videos/v1/request.json', init: 'videos/v1/init.bin' };
    const flow = buildVideoFlow({ videoId: 'v1', stages, params, firstInputs, attempts: 3, backoffMs: 500, queuePrefix: '{mv}' });

    const chain: FlowJob[] = [];
    for (let node: typeof flow | undefined = flow; node !== undefined; node = node.children?.[0] as typeof flow | undefined) {
      expect(node.children?.length ?? 0).toBeLessThanOrEqual(1);
      chain.push(node);
    }
    expect(chain.map((node) => node.name)).toEqual(['sr', 'decode', 'keyframe']);
    expect(chain.map((node) => node.queueName)).toEqual(['sr', 'decode', 'keyframe']);
    for (const node of chain) {
      expect(node.prefix).toBe('{mv}');
      expect(node.opts).toEqual({
        jobId: `v1.${node.name}`,
        // the API's default priority 0: every job has one, so a higher one can pass it
        priority: 1001,
        failParentOnFailure: true,
        attempts: 3,
        backoff: { type: 'exponential', delay: 500 },
        removeOnComplete: { age: 86_400 },
        removeOnFail: { age: 7 * 86_400 },
      });
      stageJobDataSchema.parse(node.data);
    }
    expect(chain.map((node) => stageJobDataSchema.parse(node.data))).toEqual([
      { videoId: 'v1', stage: 'sr', params, inputs: { frames: 'videos/v1/frames.safetensors' }, last: true },
      { videoId: 'v1', stage: 'decode', params, inputs: { keyframes: 'videos/v1/keyframes.safetensors' }, last: false },
      { videoId: 'v1', stage: 'keyframe', params, inputs: firstInputs, last: false },
    ]);
  });
});

describe('a video flow on real Redis', () => {
  let services: TestServices;
  let connection: Redis;
  let queues: Record<StageName, Queue>;
  let producer: FlowProducer;
  let videoCount = 0;

  beforeAll(async () => {
    services = await startTestServices();
    connection = new Redis(services.redis.url, { maxRetriesPerRequest: null });
    const prefix = services.queuePrefix;
    queues = Object.fromEntries(STAGE_NAMES.map((stage) => [stage, new Queue(stage, { connection, prefix })])) as Record<StageName, Queue>;
    producer = new FlowProducer({ connection, prefix });
  }, 60_000);

  afterAll(async () => {
    await producer?.close();
    for (const queue of Object.values(queues ?? {})) await queue.close();
    await connection?.quit();
    await services?.stop();
  });

  async function addFlow(stages: StageName[]): Promise<string> {
    videoCount += 1;
    const videoId = `flow-${videoCount}-${Date.now().toString(36)}`;
    const params = resolvedRequestFixture();
    await producer.add(
      buildVideoFlow({ videoId, stages, params, firstInputs: stageInputs(videoId, 'keyframe', stages), attempts: 2, backoffMs: 100, queuePrefix: services.queuePrefix }),
    );
    return videoId;
  }

  const statesOf = async (videoId: string, stages: readonly StageName[]): Promise<string[]> =>
    Promise.all(stages.map((stage) => queues[stage].getJobState(stageJobId(videoId, stage))));

  /**
   * Takes the video's job of `stage` by hand, as a worker with no processor, so the test decides
   * how and when it finishes.
   */
  async function whileActive(stage: StageName, videoId: string, run: (job: Job, token: string) => Promise<void>): Promise<void> {
    const token = `token-${videoId}-${stage}`;
    const worker = new Worker(stage, null, { connection, prefix: services.queuePrefix });
    try {
      const job = (await worker.getNextJob(token, { block: false })) as Job | undefined;
      expect(job?.id).toBe(stageJobId(videoId, stage));
      await run(job as Job, token);
    } finally {
      await worker.close();
    }
  }

  it('adds one job per stage, the first stage runnable and the rest waiting for their children', async () => {
    const stages = [...STAGE_NAMES];
    const videoId = await addFlow(stages);
    // runnable jobs with a priority wait in BullMQ's `prioritized` set rather than its `wait` list
    expect(await statesOf(videoId, stages)).toEqual(['prioritized', 'waiting-children', 'waiting-children', 'waiting-children']);
    // The tests below take jobs by hand, oldest first: leave none of this flow behind.
    expect(await removeWaitingStageJobs(queues, videoId, stages)).toBe(4);
  });

  it('cancel before any stage started: every job is removed and nothing can run', async () => {
    const stages: StageName[] = ['keyframe', 'decode', 'sr'];
    const videoId = await addFlow(stages);
    expect(await removeWaitingStageJobs(queues, videoId, stages)).toBe(3);
    expect(await statesOf(videoId, stages)).toEqual(['unknown', 'unknown', 'unknown']);
    // Not even for a moment: a parent whose last child is removed first moves to `wait`, where a worker could take it.
    for (const stage of stages.slice(1)) expect(await promotedToWaiting(stage, stageJobId(videoId, stage))).toBe(false);
    for (const stage of stages) expect(await jobsOfVideo(queues[stage], videoId)).toEqual([]);
  });

  it('cancel while the first stage is active: the rest are removed, and its finishing promotes nothing', async () => {
    const stages = [...STAGE_NAMES];
    const videoId = await addFlow(stages);
    await whileActive('keyframe', videoId, async (job, token) => {
      expect(await statesOf(videoId, stages)).toEqual(['active', 'waiting-children', 'waiting-children', 'waiting-children']);
      expect(await removeWaitingStageJobs(queues, videoId, stages)).toBe(3);
      expect(await statesOf(videoId, stages)).toEqual(['active', 'unknown', 'unknown', 'unknown']);
      await job.moveToCompleted({ outputs: {} }, token, false);
    });
    expect(await statesOf(videoId, stages)).toEqual(['completed', 'unknown', 'unknown', 'unknown']);
    for (const stage of stages.slice(1)) expect(await jobsOfVideo(queues[stage], videoId)).toEqual([]);
  });

  it('cancel while the first stage is active, which then fails as cancelled: no parent is left waiting', async () => {
    const stages: StageName[] = ['keyframe', 'decode'];
    const videoId = await addFlow(stages);
    await whileActive('keyframe', videoId, async (job, token) => {
      expect(await removeWaitingStageJobs(queues, videoId, stages)).toBe(1);
      await job.moveToFailed(stageCancelledReason(videoId), token, false);
    });
    expect(await statesOf(videoId, stages)).toEqual(['failed', 'unknown']);
    expect(await jobsOfVideo(queues.decode, videoId)).toEqual([]);
  });

  it('a retry of the active stage scheduled after the cancel is removed by the next call', async () => {
    const stages: StageName[] = ['keyframe', 'decode'];
    const videoId = await addFlow(stages);
    await whileActive('keyframe', videoId, async (job, token) => {
      expect(await removeWaitingStageJobs(queues, videoId, stages)).toBe(1);
      await job.moveToFailed(new Error('ECONNRESET'), token, false);
    });
    expect(await statesOf(videoId, stages)).toEqual(['delayed', 'unknown']);
    expect(await removeWaitingStageJobs(queues, videoId, stages)).toBe(1);
    expect(await statesOf(videoId, stages)).toEqual(['unknown', 'unknown']);
  });

  it('cancel after a middle stage started removes only the stages after it', async () => {
    const stages: StageName[] = ['keyframe', 'decode', 'sr'];
    const videoId = await addFlow(stages);
    await whileActive('keyframe', videoId, async (job, token) => {
      await job.moveToCompleted({ outputs: {} }, token, false);
    });
    expect(await statesOf(videoId, stages)).toEqual(['completed', 'prioritized', 'waiting-children']);
    await whileActive('decode', videoId, async (job, token) => {
      expect(await removeWaitingStageJobs(queues, videoId, stages)).toBe(1);
      expect(await statesOf(videoId, stages)).toEqual(['completed', 'active', 'unknown']);
      await job.moveToCompleted({ outputs: {} }, token, false);
    });
    expect(await jobsOfVideo(queues.sr, videoId)).toEqual([]);
  });

  it('runs a higher priority first in every stage: a video submitted behind others passes them in later queues too', async () => {
    const stages: StageName[] = ['keyframe', 'decode'];
    const params = resolvedRequestFixture();
    const add = async (videoId: string, priority: number) =>
      producer.add(
        buildVideoFlow({ videoId, stages, priority, params, firstInputs: stageInputs(videoId, 'keyframe', stages), attempts: 1, backoffMs: 100, queuePrefix: services.queuePrefix }),
      );
    const stamp = Date.now().toString(36);
    const normal = [1, 2, 3].map((index) => `normal-${index}-${stamp}`);
    const urgent = `urgent-${stamp}`;
    for (const videoId of normal) await add(videoId, 0);
    await add(urgent, 5);
    expect(await queuePosition(connection, services.queuePrefix, 'keyframe', stageJobId(urgent, 'keyframe'))).toBe(1);
    expect(await queuePosition(connection, services.queuePrefix, 'keyframe', stageJobId(normal[2] ?? '', 'keyframe'))).toBe(4);

    // the urgent key frame is taken first; the others are completed before it, so their decode
    // jobs are promoted first: the urgent decode job must still be taken first
    const worker = new Worker('keyframe', null, { connection, prefix: services.queuePrefix });
    const taken: Job[] = [];
    for (let index = 0; index < 4; index += 1) taken.push((await worker.getNextJob(`kf-${index}`, { block: false })) as Job);
    expect(taken.map((job) => job.id)).toEqual([urgent, ...normal].map((videoId) => stageJobId(videoId, 'keyframe')));
    for (const [index, job] of [...taken.entries()].reverse()) await job.moveToCompleted({ outputs: {} }, `kf-${index}`, false);
    await worker.close();

    const decoder = new Worker('decode', null, { connection, prefix: services.queuePrefix });
    const decodeOrder: string[] = [];
    for (let index = 0; index < 4; index += 1) {
      const job = (await decoder.getNextJob(`dec-${index}`, { block: false })) as Job;
      decodeOrder.push(String(job.id));
      await job.moveToCompleted({ outputs: {} }, `dec-${index}`, false);
    }
    await decoder.close();
    expect(decodeOrder).toEqual([urgent, normal[2], normal[1], normal[0]].map((videoId) => stageJobId(videoId ?? '', 'decode')));
  });

  it('a retry run starts at its first unfinished stage, under job ids of its own', async () => {
    const stages: StageName[] = ['keyframe', 'decode', 'sr'];
    const videoId = `rerun-${Date.now().toString(36)}`;
    const flow = buildVideoFlow({
      videoId,
      stages,
      fromStage: 'sr',
      run: 2,
      params: resolvedRequestFixture(),
      firstInputs: stageInputs(videoId, 'sr', stages),
      attempts: 1,
      backoffMs: 100,
      queuePrefix: services.queuePrefix,
    });
    expect(flow.children).toBeUndefined();
    expect(flow.opts?.jobId).toBe(`${videoId}.sr.2`);
    await producer.add(flow);
    expect(await queues.sr.getJobState(stageJobId(videoId, 'sr', 2))).toBe('prioritized');
    expect(await removeWaitingStageJobs(queues, videoId, stages, 2)).toBe(1);
  });

  /** Whether BullMQ's event stream of the queue says the job moved from waiting-children to wait. */
  async function promotedToWaiting(stage: StageName, jobId: string): Promise<boolean> {
    const entries = await connection.xrange(`${services.queuePrefix}:${stage}:events`, '-', '+');
    return entries.some(([, fields]) => {
      const event = Object.fromEntries(fields.flatMap((_, index) => (index % 2 === 0 ? [[fields[index], fields[index + 1]]] : [])));
      return event.event === 'waiting' && event.jobId === jobId && event.prev === 'waiting-children';
    });
  }

  async function jobsOfVideo(queue: Queue, videoId: string): Promise<string[]> {
    const jobs = await queue.getJobs(['waiting', 'waiting-children', 'delayed', 'prioritized', 'active']);
    return jobs.flatMap((job) => (job?.id?.startsWith(`${videoId}.`) ? [`${job.id}`] : []));
  }
});
