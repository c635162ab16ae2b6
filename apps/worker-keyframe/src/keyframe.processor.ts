import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  decodeInitFrames,
  encodeInitLatents,
  encodeText,
  generateKeyframes,
  InitNotDecodable,
  type FloatTensor,
  type InitSource,
  type ModelFolder,
  type RgbFrames,
  type StageContext,
} from '@magicvideo/diffusion';
import { putTensorOutput, readStageInput, StageError, type StageHandler, type StageJob } from '@magicvideo/shared';

/**
 * The key-frame stage (DESIGN.md §1): text encoding, then key-frame diffusion (paper §3.1),
 * from the init image or video's latents for image-to-video and editing (SDEdit, paper §4.3).
 * Reads job data (and `init.bin`); writes `text.safetensors` (cond, uncond [1, L, D] F32) and
 * `keyframes.safetensors` (latents [1, C, F, h, w] F32). Progress is the denoising steps.
 */

export interface KeyframeStageOptions {
  folder: ModelFolder;
  ffmpegPath: string;
}

/** The uploaded init file's frames (an image's first frame, or every frame of a video). */
async function readInitFrames(job: StageJob, source: InitSource, ffmpegPath: string): Promise<RgbFrames> {
  const bytes = await readStageInput(job, 'init');
  const dir = await mkdtemp(join(tmpdir(), 'mv-init-'));
  try {
    const path = join(dir, 'init.bin');
    await writeFile(path, bytes);
    return await decodeInitFrames(path, source, { ffmpegPath, signal: job.signal });
  } catch (error) {
    if (!(error instanceof InitNotDecodable)) throw error;
    const detail = error.reason === 'text' ? 'is a text file' : `cannot be decoded (${error.cause instanceof Error ? error.cause.message : error.message})`;
    throw new StageError('InvalidStageInput', `InvalidInit: the init ${source} ${detail}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function keyframeStage({ folder, ffmpegPath }: KeyframeStageOptions): StageHandler {
  return async (job) => {
    const { params } = job.data;
    const ctx: StageContext = {
      signal: job.signal,
      onProgress: (progress) => {
        if (progress.stage === 'keyframes') job.reportProgress(progress.step, progress.totalSteps);
      },
    };
    const text = await encodeText(folder, { prompt: params.prompt, negativePrompt: params.negativePrompt }, ctx);
    const textKey = await putTensorOutput(job, 'text', {
      cond: { dtype: 'F32', shape: text.cond.dims, data: text.cond.data },
      uncond: { dtype: 'F32', shape: text.uncond.dims, data: text.uncond.data },
    });
    if (text.promptTokens.truncated) job.logger.warn({ droppedTokens: text.promptTokens.droppedTokenCount }, 'prompt cut to fit the text encoder');

    let init: { latents: FloatTensor; strength: number } | undefined;
    if (params.init !== undefined) {
      const frames = await readInitFrames(job, params.init.source, ffmpegPath);
      const latents = await encodeInitLatents(folder, frames, { seed: params.seed, source: params.init.source }, ctx);
      init = { latents, strength: params.init.strength };
    }
    const latents = await generateKeyframes(
      folder,
      text,
      { seed: params.seed, steps: params.steps, guidanceScale: params.guidanceScale, sampler: params.sampler, fps: params.fps, ...(init ? { init } : {}) },
      ctx,
    );
    // The same metadata as the in-process pipeline's keyframes.safetensors.
    const keyframesKey = await putTensorOutput(job, 'keyframes', { latents: { dtype: 'F32', shape: latents.dims, data: latents.data } }, { fps: String(params.fps) });
    return { outputs: { text: textKey, keyframes: keyframesKey } };
  };
}
