import { copyFile, link, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ARTIFACT_FILES, writeSafetensorsFile, type ArtifactName } from '@magicvideo/shared';
import type { FloatTensor } from '../sessions/tensor-dtypes';
import { encodeVideo, type VideoFormat } from '../video/encode-video';
import type { RgbFrames } from '../video/frames';

/**
 * A video's artifacts (DESIGN.md §4) in a local folder, under the same file names the
 * distributed path uses as S3 keys, so a local run can be inspected with the same tools
 * (Python's `safetensors` reads the tensors with no code of ours).
 */

/** The pipeline's stages as its timings name them: the StageProgress stages, plus init encoding and the preview. */
export type PipelineStage = 'text' | 'init' | 'keyframes' | 'interp' | 'decode' | 'sr' | 'encode' | 'preview';
/** Wall-clock milliseconds per stage that ran. */
export type StageTimings = Partial<Record<PipelineStage, number>>;

export type JobStatus = 'running' | 'succeeded' | 'failed' | 'cancelled';

/** `job.json`: the durable record of one run. */
export interface JobRecord {
  status: JobStatus;
  seed: number;
  startedAt: string;
  finishedAt?: string;
  stageTimingsMs: StageTimings;
  /** artifact file names written so far, by artifact */
  outputs: Partial<Record<ArtifactName, string>>;
  error?: { code: string; message: string };
}

export const VIDEO_ARTIFACTS: Record<VideoFormat, ArtifactName> = { mp4: 'videoMp4', webm: 'videoWebm', gif: 'videoGif' };

export class LocalArtifacts {
  private readonly written = new Set<ArtifactName>();

  private constructor(readonly dir: string) {}

  /** Creates the folder (and its parents) when missing. */
  static async open(dir: string): Promise<LocalArtifacts> {
    await mkdir(dir, { recursive: true });
    return new LocalArtifacts(dir);
  }

  path(artifact: ArtifactName): string {
    return join(this.dir, ARTIFACT_FILES[artifact]);
  }

  /** `video.<format>` in this folder. */
  videoPath(format: VideoFormat): string {
    return this.path(VIDEO_ARTIFACTS[format]);
  }

  /** Artifact file names written by this run, for `job.json`. */
  outputs(): Partial<Record<ArtifactName, string>> {
    return Object.fromEntries([...this.written].map((artifact) => [artifact, ARTIFACT_FILES[artifact]]));
  }

  async writeRequest(request: object): Promise<void> {
    await this.writeJson('request', request);
  }

  /** `cond` and `uncond` [1, 77, D] */
  async writeText(text: { cond: FloatTensor; uncond: FloatTensor }): Promise<void> {
    await writeSafetensorsFile(this.path('text'), {
      cond: { dtype: 'F32', shape: text.cond.dims, data: text.cond.data },
      uncond: { dtype: 'F32', shape: text.uncond.dims, data: text.uncond.data },
    });
    this.written.add('text');
  }

  /** `latents` [1, C, F, h, w], scaled diffusion latents */
  async writeKeyframes(latents: FloatTensor, metadata: Record<string, string> = {}): Promise<void> {
    await this.writeLatents('keyframes', latents, metadata);
  }

  /** `latents` [1, C, (F − 1)·factor + 1, h, w] */
  async writeInterp(latents: FloatTensor, metadata: Record<string, string> = {}): Promise<void> {
    await this.writeLatents('interp', latents, metadata);
  }

  /** `frames` uint8 [N, H, W, 3]: the frames the videos are encoded from */
  async writeFrames(frames: RgbFrames): Promise<void> {
    await writeSafetensorsFile(this.path('frames'), {
      frames: { dtype: 'U8', shape: [frames.frameCount, frames.height, frames.width, 3], data: frames.data },
    });
    this.written.add('frames');
  }

  /** `preview.gif`: the key frames, at their own rate. */
  async writePreview(keyframes: RgbFrames, options: { fps: number; ffmpegPath: string; signal?: AbortSignal }): Promise<void> {
    await encodeVideo(keyframes, { ...options, format: 'gif', output: this.path('preview') });
    this.written.add('preview');
  }

  /**
   * Puts an encoded video into the folder as `video.<format>`: a hard link to the file the caller
   * chose as output (no second copy), or a copy where the file system cannot link.
   */
  async addVideo(format: VideoFormat, encodedPath: string): Promise<void> {
    const artifact = VIDEO_ARTIFACTS[format];
    const target = this.path(artifact);
    if (target !== encodedPath) {
      await rm(target, { force: true });
      try {
        await link(encodedPath, target);
      } catch (error) {
        if (!isCrossDeviceOrUnsupported(error)) throw error;
        await copyFile(encodedPath, target);
      }
    }
    this.written.add(artifact);
  }

  async writeJob(record: JobRecord): Promise<void> {
    await this.writeJson('job', record);
  }

  private async writeLatents(artifact: 'keyframes' | 'interp', latents: FloatTensor, metadata: Record<string, string>): Promise<void> {
    await writeSafetensorsFile(this.path(artifact), { latents: { dtype: 'F32', shape: latents.dims, data: latents.data } }, metadata);
    this.written.add(artifact);
  }

  private async writeJson(artifact: 'request' | 'job', value: object): Promise<void> {
    await writeFile(this.path(artifact), `${JSON.stringify(value, null, 2)}\n`);
    this.written.add(artifact);
  }
}

function isCrossDeviceOrUnsupported(error: unknown): boolean {
  return error instanceof Error && 'code' in error && (error.code === 'EXDEV' || error.code === 'EPERM' || error.code === 'ENOTSUP');
}
