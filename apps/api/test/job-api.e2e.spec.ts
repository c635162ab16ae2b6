import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { createS3Client } from '@magicvideo/shared';
import { startDistributedStack, type DistributedStack, type StackProcess } from '@magicvideo/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Issue 15's "done when", end to end over HTTP: the API and the stage workers as separate OS
 * processes against real Redis and S3, on the shipped tiny model folder. Queue places, priorities
 * through every stage, deadlines, Prefer: wait, retry of a failed SR stage, and retention.
 */

const MODELS_DIR = 'assets/models/magicvideo-shapes';
const FAST = { num_inference_steps: 3, interp_num_inference_steps: 2, sr_num_inference_steps: 2 };
const NO_INTERP = { ...FAST, interpolate: false };

interface StageView {
  state: string;
  attempts: number;
  started_at: string | null;
  finished_at: string | null;
}
interface VideoView {
  id: string;
  status: string;
  reason: string | null;
  progress: number;
  queue: { stage: string; position: number; estimated_start_at: string | null } | null;
  stages: Record<string, StageView>;
  runs: { run: number; from_stage: string; status: string | null }[];
  result: { videos: { format: string; url: string }[] } | null;
  error: { code: string; message: string; stage?: string } | null;
}

const ended = (video: VideoView) => ['succeeded', 'failed', 'cancelled', 'expired'].includes(video.status);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function client(stack: () => DistributedStack) {
  const headers = (extra: Record<string, string> = {}) => ({ Authorization: stack().authorization, 'Content-Type': 'application/json', ...extra });
  const submit = async (body: Record<string, unknown>, extra: Record<string, string> = {}) => {
    const response = await fetch(`${stack().apiUrl}/v1/videos`, { method: 'POST', headers: headers(extra), body: JSON.stringify(body) });
    return { status: response.status, headers: response.headers, body: (await response.json()) as { id: string } & Partial<VideoView> & { error?: unknown } };
  };
  const get = async (id: string): Promise<{ status: number; body: VideoView & { error: { code: string; expired_at?: string } | null } }> => {
    const response = await fetch(`${stack().apiUrl}/v1/videos/${id}`, { headers: headers() });
    return { status: response.status, body: (await response.json()) as VideoView & { error: { code: string; expired_at?: string } | null } };
  };
  const video = async (id: string): Promise<VideoView> => {
    const answer = await get(id);
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    return answer.body;
  };
  const waitFor = async (id: string, done: (video: VideoView) => boolean, timeoutMs = 240_000): Promise<VideoView> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const current = await video(id);
      if (done(current)) return current;
      if (Date.now() > deadline) throw new Error(`video ${id} not done within ${timeoutMs} ms: ${JSON.stringify(current)}`);
      await sleep(100);
    }
  };
  return { headers, submit, get, video, waitFor };
}

async function stopProcess(stack: DistributedStack, process: StackProcess | undefined): Promise<void> {
  if (process === undefined) return;
  process.app.kill('SIGTERM');
  await process.app.exited;
}

describe('the job API with workers as processes', () => {
  let stack: DistributedStack;
  const api = client(() => stack);
  let keyframeWorker: StackProcess | undefined;

  beforeAll(async () => {
    stack = await startDistributedStack({
      modelsDir: MODELS_DIR,
      env: { ORT_INTRA_OP_THREADS: '1', LOG_LEVEL: 'warn', SWEEP_INTERVAL_MS: '250' },
      // each test starts the key-frame worker it needs, so videos can be queued before any runs
      withoutWorkers: ['keyframe'],
    });
  }, 300_000);

  afterAll(async () => {
    await stack?.stop();
  }, 60_000);

  it('reports three queued videos at positions 1, 2, 3, and the positions fall as each starts', async () => {
    const ids: string[] = [];
    for (const prompt of ['a red circle moving right', 'a blue square moving up', 'a green triangle moving left']) {
      const answer = await api.submit({ prompt, seed: 5, ...NO_INTERP, super_resolution: false });
      expect(answer.status).toBe(202);
      ids.push(answer.body.id);
    }
    const places = async () => Promise.all(ids.map(async (id) => (await api.video(id)).queue?.position ?? null));
    expect(await places()).toEqual([1, 2, 3]);

    // the SSE stream of the third reports its place as an event of its own
    const sse = await fetch(`${stack.apiUrl}/v1/videos/${ids[2]}/events`, { headers: api.headers() });
    const reader = sse.body!.getReader();
    const firstQueueEvent = (async () => {
      let text = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) throw new Error('stream ended before a queue event');
        text += new TextDecoder().decode(value);
        const match = /event: queue\ndata: (.*)\n/.exec(text);
        if (match) return JSON.parse(match[1] ?? '') as { queue: { position: number } };
      }
    })();
    expect((await firstQueueEvent).queue.position).toBe(3);
    await reader.cancel();

    keyframeWorker = await stack.startWorker('keyframe');
    const seen: (number | null)[][] = [];
    for (let polls = 0; polls < 2400 && seen.at(-1)?.every((place) => place === null) !== true; polls += 1) {
      const current = await places();
      if (JSON.stringify(current) !== JSON.stringify(seen.at(-1))) seen.push(current);
      await sleep(50);
    }
    // every video's place only ever falls, until it starts (null); the one worker takes them in order
    for (const [index] of ids.entries()) {
      const history = seen.map((places) => places[index] ?? null);
      const numbers = history.filter((place): place is number => place !== null);
      expect(numbers, JSON.stringify(seen)).toEqual([...numbers].sort((a, b) => b - a));
      expect(history.indexOf(null) === -1 || history.slice(history.indexOf(null)).every((place) => place === null)).toBe(true);
    }
    expect(seen.some((places) => places[2] === 2)).toBe(true);
    const started = await Promise.all(ids.map(async (id) => Date.parse((await api.waitFor(id, ended)).stages.keyframe?.started_at ?? '')));
    expect(started).toEqual([...started].sort((a, b) => a - b));
  }, 300_000);

  it('starts a high-priority video submitted behind five normal ones next, and runs its later stages first too', async () => {
    await stopProcess(stack, keyframeWorker);
    const normal: string[] = [];
    for (let index = 0; index < 5; index += 1) normal.push((await api.submit({ prompt: 'a red circle moving right', seed: 20 + index, ...NO_INTERP })).body.id);
    const urgent = await api.submit({ prompt: 'a blue square moving up', seed: 30, priority: 10, ...NO_INTERP });
    expect(urgent.status).toBe(202);
    expect((await api.video(urgent.body.id)).queue?.position).toBe(1);
    expect((await api.video(normal[0] ?? '')).queue?.position).toBe(2);
    const tooHigh = await api.submit({ prompt: 'x', priority: 11 });
    expect(tooHigh.status).toBe(400);
    expect(tooHigh.body.error).toMatchObject({ code: 'InvalidPriority', field: 'priority' });

    keyframeWorker = await stack.startWorker('keyframe');
    const videos = await Promise.all([urgent.body.id, ...normal].map((id) => api.waitFor(id, ended)));
    for (const video of videos) expect(video.status, JSON.stringify(video.error)).toBe('succeeded');
    const [first, ...rest] = videos;
    for (const stage of ['keyframe', 'decode', 'sr']) {
      const startOf = (video: VideoView | undefined) => Date.parse(video?.stages[stage]?.started_at ?? '');
      for (const other of rest) expect(startOf(first), stage).toBeLessThan(startOf(other));
    }
  }, 400_000);

  it('ends a video whose Cancel-After passes on a slow stage cancelled (deadline) with no later stage run, and one that never started expired', async () => {
    await stopProcess(stack, keyframeWorker);
    // no key-frame worker: this one cannot start before its deadline (the other stages' workers sweep it)
    const behind = await api.submit({ prompt: 'a blue square moving up', seed: 41, ...NO_INTERP }, { 'Cancel-After': '500ms' });
    expect(behind.status).toBe(202);
    const bad = await api.submit({ prompt: 'x' }, { 'Cancel-After': 'whenever' });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'InvalidCancelAfter', field: 'Cancel-After' });
    const expired = await api.waitFor(behind.body.id, ended, 60_000);
    expect(expired).toMatchObject({ status: 'expired', reason: 'deadline', queue: null });
    expect(Object.values(expired.stages).every((stage) => stage.started_at === null)).toBe(true);

    // every model call of this worker lasts at least 400 ms: 15 steps outlast the 2 s deadline
    keyframeWorker = await stack.startWorker('keyframe', { DEBUG_MODEL_CALL_MIN_MS: '400' });
    const slow = await api.submit({ prompt: 'a red circle moving right', seed: 40, ...NO_INTERP, num_inference_steps: 15 }, { 'Cancel-After': '2s' });
    expect(slow.status).toBe(202);
    const cancelled = await api.waitFor(slow.body.id, ended, 60_000);
    expect(cancelled).toMatchObject({ status: 'cancelled', reason: 'deadline' });
    expect(cancelled.stages.keyframe?.state).toBe('cancelled');
    for (const later of ['decode', 'sr']) expect(cancelled.stages[later]).toMatchObject({ state: 'cancelled', started_at: null, attempts: 0 });
    // nothing ran later either
    await sleep(2000);
    expect((await api.video(slow.body.id)).stages.decode?.started_at).toBeNull();
  }, 300_000);

  it('answers Prefer: wait=60 with 201 and result URLs; a shorter wait with 202 and the id, and the video still finishes', async () => {
    await stopProcess(stack, keyframeWorker);
    keyframeWorker = await stack.startWorker('keyframe');
    // key frames and decode only: well inside the minute even on a loaded machine
    const waited = await api.submit({ prompt: 'a red circle moving right', seed: 50, ...NO_INTERP, super_resolution: false }, { Prefer: 'wait=60' });
    expect(waited.status, JSON.stringify(waited.body)).toBe(201);
    expect(waited.headers.get('preference-applied')).toBe('wait=60');
    expect(waited.body).toMatchObject({ id: expect.any(String), status: 'succeeded' });
    const mp4 = waited.body.result?.videos.find((entry) => entry.format === 'mp4');
    expect((await fetch(mp4?.url ?? '')).status).toBe(200);

    const short = await api.submit({ prompt: 'a blue square moving up', seed: 51, ...FAST }, { Prefer: 'wait=1' });
    expect(short.status).toBe(202);
    expect(short.body).toMatchObject({ id: expect.any(String), status: 'queued' });
    expect((await api.waitFor(short.body.id, ended)).status).toBe('succeeded');

    const tooLong = await api.submit({ prompt: 'x' }, { Prefer: 'wait=61' });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.error).toMatchObject({ code: 'InvalidPrefer', field: 'Prefer' });
  }, 300_000);

  it('retries a video whose SR stage failed: only SR runs again, and the result equals an uninterrupted run with the same seed', async () => {
    const s3 = createS3Client({ ...stack.services.s3, credentials: stack.services.s3 });
    const bucket = stack.services.s3.bucket;
    const bytesOf = async (key: string) =>
      (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToByteArray().then((bytes) => Buffer.from(bytes));
    try {
      const srWorker = stack.processes.find((process) => process.name === 'sr');
      await stopProcess(stack, srWorker);
      const body = { prompt: 'a green triangle moving left', seed: 60, ...FAST };
      const failing = await api.submit(body);
      const id = failing.body.id;
      await api.waitFor(id, (video) => video.stages.decode?.state === 'completed');
      // injected failure: the SR stage's input is gone when it starts (ArtifactNotFound fails it at once)
      const framesKey = `videos/${id}/frames.safetensors`;
      const frames = await bytesOf(framesKey);
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: framesKey }));
      await stack.startWorker('sr');
      const failed = await api.waitFor(id, ended);
      expect(failed).toMatchObject({ status: 'failed', error: { code: 'ArtifactNotFound', stage: 'sr' } });
      const before = failed.stages;

      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: framesKey, Body: frames }));
      const retried = await fetch(`${stack.apiUrl}/v1/videos/${id}/retry`, { method: 'POST', headers: { Authorization: stack.authorization } });
      expect(retried.status).toBe(202);
      const after = await api.waitFor(id, ended);
      expect(after.status, JSON.stringify(after.error)).toBe('succeeded');
      for (const stage of ['keyframe', 'interp', 'decode']) expect(after.stages[stage], stage).toEqual(before[stage]);
      expect(after.stages.sr).toMatchObject({ state: 'completed', attempts: 2 });
      expect(after.runs.map((run) => [run.run, run.from_stage, run.status])).toEqual([
        [1, 'keyframe', 'failed'],
        [2, 'sr', 'succeeded'],
      ]);
      const retriedResult = await bytesOf(`videos/${id}/sr_frames.safetensors`);

      const uninterrupted = await api.submit(body);
      const reference = await api.waitFor(uninterrupted.body.id, ended);
      expect(reference.status).toBe('succeeded');
      const referenceResult = await bytesOf(`videos/${uninterrupted.body.id}/sr_frames.safetensors`);
      expect(retriedResult.equals(referenceResult)).toBe(true);
      expect((await bytesOf(`videos/${id}/video.mp4`)).equals(await bytesOf(`videos/${uninterrupted.body.id}/video.mp4`))).toBe(true);
    } finally {
      s3.destroy();
    }
  }, 400_000);
});

describe('retention with workers as processes', () => {
  let stack: DistributedStack;
  const api = client(() => stack);

  beforeAll(async () => {
    stack = await startDistributedStack({
      modelsDir: MODELS_DIR,
      // shortened for the test: intermediates after 2 s, results after 5 s
      env: { ORT_INTRA_OP_THREADS: '1', LOG_LEVEL: 'warn', SWEEP_INTERVAL_MS: '250', INTERMEDIATE_RETENTION_SECONDS: '2', RESULT_RETENTION_SECONDS: '5' },
      withoutWorkers: ['interp', 'sr'],
    });
  }, 300_000);

  afterAll(async () => {
    await stack?.stop();
  }, 60_000);

  it('deletes the intermediates, then the results from S3, after which the API answers 410 with when the video expired', async () => {
    const s3 = createS3Client({ ...stack.services.s3, credentials: stack.services.s3 });
    const exists = (key: string) =>
      s3.send(new HeadObjectCommand({ Bucket: stack.services.s3.bucket, Key: key })).then(
        () => true,
        () => false,
      );
    try {
      const { body } = await api.submit({ prompt: 'a red circle moving right', seed: 70, ...FAST, interpolate: false, super_resolution: false });
      const done = await api.waitFor(body.id, ended);
      expect(done.status).toBe('succeeded');
      const keyframes = `videos/${body.id}/keyframes.safetensors`;
      const mp4 = `videos/${body.id}/video.mp4`;
      expect(await exists(mp4)).toBe(true);

      const goneBy = Date.now() + 60_000;
      while ((await exists(mp4)) && Date.now() < goneBy) await sleep(250);
      expect(await exists(keyframes)).toBe(false);
      expect(await exists(mp4)).toBe(false);
      const answer = await api.get(body.id);
      expect(answer.status).toBe(410);
      expect(answer.body.error).toMatchObject({ code: 'VideoExpired' });
      expect(Date.parse(answer.body.error?.expired_at ?? '')).toBeGreaterThanOrEqual(Date.parse(done.stages.decode?.finished_at ?? '') + 5_000);
    } finally {
      s3.destroy();
    }
  }, 300_000);
});
