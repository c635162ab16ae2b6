import {
  outputFrameRate,
  superResolve,
  videoFileOutputs,
  type ModelFolder,
  type StageContext,
} from '@magicvideo/diffusion';
import { putFileOutputs, putTensorOutput, readTensorInput, type StageHandler } from '@magicvideo/shared';

/**
 * The super-resolution stage (paper §3.4): reads the decode stage's `frames.safetensors` (U8
 * [N, H, W, 3]), writes `sr_frames.safetensors` (U8 [N, H·s, W·s, 3]) and, as the flow's last
 * stage, the video files at the output frame rate. Progress is the denoising steps of every
 * frame batch.
 */

export interface SrStageOptions {
  folder: ModelFolder;
  ffmpegPath: string;
}

export function srStage({ folder, ffmpegPath }: SrStageOptions): StageHandler {
  return async (job) => {
    const { params, last } = job.data;
    const ctx: StageContext = {
      signal: job.signal,
      onProgress: (progress) => {
        if (progress.stage === 'sr') job.reportProgress(progress.step, progress.totalSteps);
      },
    };
    const input = await readTensorInput(job, 'frames', 'frames', { dtype: 'U8', rank: 4 });
    const [frameCount = 0, height = 0, width = 0] = input.shape;
    const frames = await superResolve(
      folder,
      { data: input.data, frameCount, height, width },
      { seed: params.seed, steps: params.srSteps, sampler: params.sampler, noiseLevel: params.srNoiseLevel },
      ctx,
    );
    const srFramesKey = await putTensorOutput(job, 'srFrames', {
      frames: { dtype: 'U8', shape: [frames.frameCount, frames.height, frames.width, 3], data: frames.data },
    });
    const videos = last
      ? await putFileOutputs(job, videoFileOutputs(frames, params.formats, { fps: outputFrameRate(params, folder.manifest), ffmpegPath, signal: job.signal }))
      : {};
    return { outputs: { srFrames: srFramesKey, ...videos } };
  };
}
