import type { ModelFolder } from '../sessions/model-folder';
import type { FloatTensor } from '../sessions/tensor-dtypes';
import { decode } from '../stages/decode';
import { encodeText } from '../stages/encode-text';
import { generateKeyframes } from '../stages/generate-keyframes';
import { interpolate } from '../stages/interpolate';
import type { StageContext } from '../stages/stage-context';
import { superResolve } from '../stages/super-resolve';
import { encodeVideo, type VideoFormat } from '../video/encode-video';
import type { RgbFrames } from '../video/frames';
import { encodeInitLatents } from './encode-init-latents';
import type { JobRecord, JobStatus, LocalArtifacts, PipelineStage, StageTimings } from './local-artifacts';
import { outputFrameRate, type ResolvedGenerationRequest } from '@magicvideo/shared';

/**
 * The whole job of DESIGN.md §1 in one process: text → key frames → (interpolation) → decode →
 * (super-resolution) → video files. A thin composition of the stage functions the distributed
 * workers call one per queue, so the local and distributed paths cannot drift apart; a stage the
 * request leaves out is skipped, nothing else changes.
 */

export interface RunPipelineOptions extends StageContext {
  ffmpegPath: string;
  /** When given, every DESIGN.md §4 artifact is written there as soon as it exists. */
  artifacts?: LocalArtifacts;
  /** Where each requested format is encoded; the artifacts folder's `video.<format>` when left out. */
  videoPath?: (format: VideoFormat) => string;
  /** The init image or video's frames, for requests with `init` (any size; cropped and resized). */
  initFrames?: RgbFrames;
}

export interface PipelineVideo {
  format: VideoFormat;
  path: string;
  frameCount: number;
  width: number;
  height: number;
  fps: number;
}

export interface PipelineResult {
  seed: number;
  videos: PipelineVideo[];
  /** the frames the videos were encoded from, [N, H, W, 3] */
  frames: RgbFrames;
  /** the key frames' rate, the FPS condition ν */
  keyframeFps: number;
  /** the videos' rate: ν × interp_factor with interpolation, else ν */
  fps: number;
  timings: StageTimings;
  promptTokens: { tokenCount: number; truncated: boolean; droppedTokenCount: number };
}

/** A request with `init` and no frames, or frames and no `init`: the caller's bug. */
export class InitFramesMismatch extends Error {
  readonly code = 'InitFramesMismatch';
  constructor(detail: string) {
    super(`InitFramesMismatch: ${detail}`);
    this.name = 'InitFramesMismatch';
  }
}

export async function runPipeline(
  folder: ModelFolder,
  request: ResolvedGenerationRequest,
  options: RunPipelineOptions,
): Promise<PipelineResult> {
  const { artifacts, ffmpegPath, signal, initFrames } = options;
  if ((request.init === undefined) !== (initFrames === undefined)) {
    throw new InitFramesMismatch(request.init === undefined ? 'init frames given to a request without init' : 'request.init needs initFrames');
  }
  const videoPath = options.videoPath ?? artifacts?.videoPath.bind(artifacts);
  if (videoPath === undefined) throw new TypeError('runPipeline needs videoPath or artifacts to know where videos go');
  const ctx: StageContext = { onProgress: options.onProgress, signal };
  const { manifest } = folder;
  const { seed, sampler } = request;
  const fps = outputFrameRate(request, manifest);
  const timings: StageTimings = {};
  const timed = async <T>(stage: PipelineStage, work: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      return await work();
    } finally {
      timings[stage] = Math.round(performance.now() - started);
    }
  };
  const job: JobRecord = { status: 'running', seed, startedAt: new Date().toISOString(), stageTimingsMs: timings, outputs: {} };
  const writePreview = (keyframes: RgbFrames) =>
    artifacts && timed('preview', () => artifacts.writePreview(keyframes, { fps: request.fps, ffmpegPath, signal }));

  await artifacts?.writeRequest(request);
  await artifacts?.writeJob(job);
  try {
    const text = await timed('text', () => encodeText(folder, { prompt: request.prompt, negativePrompt: request.negativePrompt }, ctx));
    await artifacts?.writeText(text);

    let init: { latents: FloatTensor; strength: number } | undefined;
    if (request.init !== undefined && initFrames !== undefined) {
      const source = request.init.source;
      const latents = await timed('init', () => encodeInitLatents(folder, initFrames, { seed, source }, ctx));
      init = { latents, strength: request.init.strength };
    }
    const keyframeLatents = await timed('keyframes', () =>
      generateKeyframes(
        folder,
        text,
        { seed, steps: request.steps, guidanceScale: request.guidanceScale, sampler, fps: request.fps, ...(init ? { init } : {}) },
        ctx,
      ),
    );
    await artifacts?.writeKeyframes(keyframeLatents, { fps: String(request.fps) });

    let latents = keyframeLatents;
    if (request.interpolate) {
      const interpolated = await timed('interp', () => interpolate(folder, keyframeLatents, { seed, steps: request.interpSteps, sampler }, ctx));
      await artifacts?.writeInterp(interpolated.latents, { fps: String(fps) });
      await writePreview(interpolated.keyframePreview);
      latents = interpolated.latents;
    }

    let frames = await timed('decode', () => decode(folder, latents, {}, ctx));
    if (!request.interpolate) await writePreview(frames);
    if (request.superResolution) {
      const lowResolution = frames;
      frames = await timed('sr', () =>
        superResolve(folder, lowResolution, { seed, steps: request.srSteps, sampler, noiseLevel: request.srNoiseLevel }, ctx),
      );
    }
    await artifacts?.writeFrames(frames);

    const videos = await timed('encode', () => encodeVideos(frames, request.formats, { fps, ffmpegPath, videoPath, ctx, artifacts }));
    await finishJob(job, 'succeeded', artifacts);
    return { seed, videos, frames, keyframeFps: request.fps, fps, timings, promptTokens: text.promptTokens };
  } catch (error) {
    await recordFailure(job, error, artifacts);
    throw error;
  }
}

async function encodeVideos(
  frames: RgbFrames,
  formats: readonly VideoFormat[],
  options: { fps: number; ffmpegPath: string; videoPath: (format: VideoFormat) => string; ctx: StageContext; artifacts?: LocalArtifacts },
): Promise<PipelineVideo[]> {
  const { fps, ffmpegPath, videoPath, ctx, artifacts } = options;
  const videos: PipelineVideo[] = [];
  for (const [index, format] of formats.entries()) {
    const path = videoPath(format);
    const encoded = await encodeVideo(frames, { fps, format, output: path, ffmpegPath, signal: ctx.signal });
    await artifacts?.addVideo(format, path);
    videos.push({ format, path, frameCount: encoded.frameCount, width: encoded.width, height: encoded.height, fps });
    ctx.onProgress?.({ stage: 'encode', step: index + 1, totalSteps: formats.length });
  }
  return videos;
}

async function finishJob(job: JobRecord, status: JobStatus, artifacts: LocalArtifacts | undefined, error?: JobRecord['error']): Promise<void> {
  job.status = status;
  job.finishedAt = new Date().toISOString();
  if (error !== undefined) job.error = error;
  if (artifacts === undefined) return;
  job.outputs = artifacts.outputs();
  await artifacts.writeJob(job);
}

/** `job.json` says how the run ended; a failure to write it never hides the run's own error. */
async function recordFailure(job: JobRecord, error: unknown, artifacts: LocalArtifacts | undefined): Promise<void> {
  const code = error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : 'InternalError';
  const message = error instanceof Error ? error.message : String(error);
  try {
    await finishJob(job, code === 'StageCancelled' ? 'cancelled' : 'failed', artifacts, { code, message });
  } catch (writeError) {
    throw new AggregateError([error, writeError], `${message} (and job.json could not be written)`);
  }
}
