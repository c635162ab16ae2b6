import {
  decode,
  outputFrameRate,
  previewFileOutput,
  videoFileOutputs,
  type ModelFolder,
  type StageContext,
} from '@magicvideo/diffusion';
import { putFileOutputs, putTensorOutput, readTensorInput, type StageHandler } from '@magicvideo/shared';

/**
 * The decode stage (VideoVAE, paper §3.3): reads `interp.safetensors` (or `keyframes.safetensors`
 * in a flow without interpolation), writes `frames.safetensors` (frames U8 [N, H, W, 3]); without
 * interpolation also `preview.gif` (the key frames); as the flow's last stage (no SR) the video
 * files. Progress is the decoded chunks.
 */

export interface DecodeStageOptions {
  folder: ModelFolder;
  ffmpegPath: string;
}

export function decodeStage({ folder, ffmpegPath }: DecodeStageOptions): StageHandler {
  return async (job) => {
    const { params, last } = job.data;
    const ctx: StageContext = {
      signal: job.signal,
      onProgress: (progress) => {
        if (progress.stage === 'decode') job.reportProgress(progress.step, progress.totalSteps);
      },
    };
    const input = params.interpolate ? 'interp' : 'keyframes';
    const latents = await readTensorInput(job, input, 'latents', { dtype: 'F32', rank: 5 });
    const frames = await decode(folder, { data: latents.data, dims: latents.shape }, {}, ctx);
    const framesKey = await putTensorOutput(job, 'frames', {
      frames: { dtype: 'U8', shape: [frames.frameCount, frames.height, frames.width, 3], data: frames.data },
    });
    const encode = { ffmpegPath, signal: job.signal };
    const files = [
      ...(params.interpolate ? [] : [previewFileOutput(frames, { ...encode, fps: params.fps })]),
      ...(last ? videoFileOutputs(frames, params.formats, { ...encode, fps: outputFrameRate(params, folder.manifest) }) : []),
    ];
    return { outputs: { frames: framesKey, ...(await putFileOutputs(job, files)) } };
  };
}
