import {
  interpolate,
  outputFrameRate,
  previewFileOutput,
  type ModelFolder,
  type StageContext,
} from '@magicvideo/diffusion';
import { putFileOutputs, putTensorOutput, readTensorInput, type StageHandler } from '@magicvideo/shared';

/**
 * The interpolation stage (paper §3.2): reads `keyframes.safetensors` (latents [1, C, F, h, w]),
 * writes `interp.safetensors` (latents [1, C, (F − 1)·4 + 1, h, w] F32) and `preview.gif` (the
 * key frames, which interpolation decodes anyway for its image encoder, at their own rate).
 * Progress is the denoising steps.
 */

export interface InterpStageOptions {
  folder: ModelFolder;
  ffmpegPath: string;
}

export function interpStage({ folder, ffmpegPath }: InterpStageOptions): StageHandler {
  return async (job) => {
    const { params } = job.data;
    const ctx: StageContext = {
      signal: job.signal,
      onProgress: (progress) => {
        if (progress.stage === 'interp') job.reportProgress(progress.step, progress.totalSteps);
      },
    };
    const keyframes = await readTensorInput(job, 'keyframes', 'latents', { dtype: 'F32', rank: 5 });
    const { latents, keyframePreview } = await interpolate(
      folder,
      { data: keyframes.data, dims: keyframes.shape },
      { seed: params.seed, steps: params.interpSteps, sampler: params.sampler },
      ctx,
    );
    const interpKey = await putTensorOutput(
      job,
      'interp',
      { latents: { dtype: 'F32', shape: latents.dims, data: latents.data } },
      { fps: String(outputFrameRate(params, folder.manifest)) },
    );
    const preview = await putFileOutputs(job, [previewFileOutput(keyframePreview, { fps: params.fps, ffmpegPath, signal: job.signal })]);
    return { outputs: { interp: interpKey, ...preview } };
  };
}
