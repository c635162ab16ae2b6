import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { startDistributedStack, type DistributedStack } from '@magicvideo/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The "done when", end to end over HTTP: the API and the four stage workers as separate
 * OS processes against real Redis and S3, on the shipped tiny model folder (steps kept small so
 * the machine stays usable; the tiny model makes 64² key frames, 256² after SR).
 */

const MODELS_DIR = 'assets/models/magicvideo-shapes';
const FAST = { num_inference_steps: 3, interp_num_inference_steps: 2, sr_num_inference_steps: 2 };

interface VideoView {
  id: string;
  status: string;
  stage: string | null;
  progress: number;
  seed: number;
  stages: Record<string, { state: string; step: number; total_steps: number; attempts: number }>;
  result?: { videos: { format: string; url: string; expires_at: string }[] };
  error?: { code: string; message: string };
}

const KILLABLE_WORKER_ENV = { LOCK_DURATION_MS: '3000', STALLED_INTERVAL_MS: '1000' };

const ffmpegPath = (createRequire(import.meta.url)('@ffmpeg-installer/ffmpeg') as { path: string }).path;

/** Decodes a video from a URL to raw RGB and counts its frames at the given size. */
function countFrames(url: string, width: number, height: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(ffmpegPath, ['-v', 'error', '-i', url, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${width}x${height}`, '-']);
    let bytes = 0;
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (bytes += chunk.length));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(bytes / (width * height * 3)) : reject(new Error(`ffmpeg exited ${code}: ${stderr}`))));
  });
}

/** width and height of a video, from ffmpeg's stream line (ffprobe is not shipped). */
async function videoSize(url: string): Promise<{ width: number; height: number }> {
  const stderr = await new Promise<string>((resolve) => {
    const child = spawn(ffmpegPath, ['-hide_banner', '-i', url]);
    let text = '';
    child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
    child.on('exit', () => resolve(text));
  });
  const match = /Video: .*?, (\d+)x(\d+)/.exec(stderr);
  if (!match) throw new Error(`no video stream in: ${stderr}`);
  return { width: Number(match[1]), height: Number(match[2]) };
}

describe('the distributed pipeline over HTTP', () => {
  let stack: DistributedStack;
  const headers = () => ({ Authorization: stack.authorization, 'Content-Type': 'application/json' });

  async function submit(body: Record<string, unknown>): Promise<VideoView> {
    const response = await fetch(`${stack.apiUrl}/v1/videos`, { method: 'POST', headers: headers(), body: JSON.stringify(body) });
    const answer = (await response.json()) as VideoView;
    expect(response.status, JSON.stringify(answer)).toBe(202);
    return answer;
  }

  async function get(id: string): Promise<VideoView> {
    const response = await fetch(`${stack.apiUrl}/v1/videos/${id}`, { headers: headers() });
    expect(response.status).toBe(200);
    return (await response.json()) as VideoView;
  }

  async function waitFor(id: string, done: (video: VideoView) => boolean, timeoutMs = 240_000): Promise<VideoView> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const video = await get(id);
      if (done(video)) return video;
      if (Date.now() > deadline) throw new Error(`video ${id} not done within ${timeoutMs} ms: ${JSON.stringify(video)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  const finished = (video: VideoView) => ['succeeded', 'failed', 'cancelled'].includes(video.status);

  beforeAll(async () => {
    stack = await startDistributedStack({
      modelsDir: MODELS_DIR,
      env: { ORT_INTRA_OP_THREADS: '1', LOG_LEVEL: 'warn' },
      // a short lock, so a killed key-frame worker's job is handed on within seconds
      workerEnv: { keyframe: KILLABLE_WORKER_ENV },
    });
  }, 300_000);

  afterAll(async () => {
    await stack?.stop();
  }, 60_000);

  it('runs a request through all four queues to a presigned MP4 of 61 frames at the SR resolution', async () => {
    const accepted = await submit({ prompt: 'a red circle moving right', seed: 7, ...FAST });
    const video = await waitFor(accepted.id, finished);
    expect(video.status, JSON.stringify(video.error)).toBe('succeeded');
    expect(Object.keys(video.stages)).toEqual(['keyframe', 'interp', 'decode', 'sr']);
    expect(Object.values(video.stages).every((stage) => stage.state === 'completed')).toBe(true);
    const mp4 = video.result?.videos.find((entry) => entry.format === 'mp4');
    expect(mp4).toBeDefined();
    const size = await videoSize(mp4!.url);
    expect(size).toEqual({ width: 256, height: 256 });
    expect(await countFrames(mp4!.url, size.width, size.height)).toBe(61);
  }, 300_000);

  it.each([
    { variant: 'without interpolation', body: { interpolate: false }, stages: ['keyframe', 'decode', 'sr'], frames: 16, size: 256 },
    { variant: 'without super-resolution', body: { super_resolution: false }, stages: ['keyframe', 'interp', 'decode'], frames: 61, size: 64 },
  ])('runs the flow $variant', async ({ body, stages, frames, size }) => {
    const accepted = await submit({ prompt: 'a blue square moving up', seed: 3, ...FAST, ...body });
    const video = await waitFor(accepted.id, finished);
    expect(video.status, JSON.stringify(video.error)).toBe('succeeded');
    expect(Object.keys(video.stages)).toEqual(stages);
    const mp4 = video.result!.videos.find((entry) => entry.format === 'mp4')!;
    expect(await videoSize(mp4.url)).toEqual({ width: size, height: size });
    expect(await countFrames(mp4.url, size, size)).toBe(frames);
  }, 300_000);

  it('stops key-frame generation within a step of a cancel, and runs no later stage', async () => {
    const accepted = await submit({ prompt: 'a green triangle moving left', seed: 11, num_inference_steps: 60 });
    const running = await waitFor(accepted.id, (video) => (video.stages.keyframe?.step ?? 0) >= 1 || finished(video));
    expect(running.status).toBe('running');
    const cancel = await fetch(`${stack.apiUrl}/v1/videos/${accepted.id}`, { method: 'DELETE', headers: { Authorization: stack.authorization } });
    expect(cancel.status).toBe(202);
    const stepAtCancel = (await get(accepted.id)).stages.keyframe!.step;
    // the worker aborts between steps: give it time to have run several more if it did not stop
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const after = await get(accepted.id);
    expect(after.status).toBe('cancelled');
    expect(after.stages.keyframe!.step).toBeLessThanOrEqual(stepAtCancel + 1);
    expect(after.stages.keyframe!.step).toBeLessThan(60);
    for (const stage of ['interp', 'decode', 'sr']) expect(after.stages[stage]!.attempts).toBe(0);
  }, 300_000);

  it('finishes a video whose key-frame worker was SIGKILLed mid-generation, identical to an uninterrupted run', async () => {
    const body = { prompt: 'a yellow circle moving down', seed: 21, ...FAST, num_inference_steps: 12, super_resolution: false };
    const reference = await waitFor((await submit(body)).id, finished);
    expect(reference.status, JSON.stringify(reference.error)).toBe('succeeded');

    const accepted = await submit(body);
    await waitFor(accepted.id, (video) => (video.stages.keyframe?.step ?? 0) >= 2);
    const victim = stack.processes.find((process) => process.name === 'keyframe');
    expect(victim).toBeDefined();
    victim!.app.kill('SIGKILL');
    expect((await victim!.app.exited).signal).toBe('SIGKILL');
    await stack.startWorker('keyframe', KILLABLE_WORKER_ENV);

    const video = await waitFor(accepted.id, finished);
    expect(video.status, JSON.stringify(video.error)).toBe('succeeded');
    expect(video.stages.keyframe!.attempts).toBe(2);
    const bytesOf = async (view: VideoView) => {
      const url = view.result!.videos.find((entry) => entry.format === 'mp4')!.url;
      return Buffer.from(await (await fetch(url)).arrayBuffer());
    };
    expect((await bytesOf(video)).equals(await bytesOf(reference))).toBe(true);
  }, 300_000);
});
