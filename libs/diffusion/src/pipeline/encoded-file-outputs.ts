import type { ArtifactName, VideoFormat } from '@magicvideo/shared';
import { encodeVideo } from '../video/encode-video';
import type { RgbFrames } from '../video/frames';
import { VIDEO_ARTIFACTS } from './local-artifacts';

/**
 * The encoded artifacts a stage writes (`video.<format>`, `preview.gif`) as file writers, the
 * shape the workers' `putFileOutputs` uploads: each encodes the frames to the path it is given.
 */

export interface EncodedFileOutput {
  artifact: ArtifactName;
  write(path: string): Promise<void>;
}

interface EncodeOptions {
  ffmpegPath: string;
  signal?: AbortSignal;
}

/** Every requested format at the output frame rate, as `video.<format>`. */
export function videoFileOutputs(frames: RgbFrames, formats: readonly VideoFormat[], options: EncodeOptions & { fps: number }): EncodedFileOutput[] {
  return formats.map((format) => ({
    artifact: VIDEO_ARTIFACTS[format],
    write: async (path: string) => {
      await encodeVideo(frames, { ...options, format, output: path });
    },
  }));
}

/** `preview.gif`: the key frames at their own rate (the FPS condition). */
export function previewFileOutput(keyframes: RgbFrames, options: EncodeOptions & { fps: number }): EncodedFileOutput {
  return {
    artifact: 'preview',
    write: async (path: string) => {
      await encodeVideo(keyframes, { ...options, format: 'gif', output: path });
    },
  };
}
