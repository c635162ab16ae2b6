import { access, constants } from 'node:fs/promises';
import { decodeVideo, type RgbFrames } from '@magicvideo/diffusion';
import { InputFileUnreadable } from './cli-errors';

/**
 * The frames `animate` and `edit` start from, decoded by ffmpeg (which reads PNG, JPEG, WebP
 * and every video container): no image decoder of our own.
 */

async function assertReadable(path: string, what: string): Promise<void> {
  try {
    await access(path, constants.R_OK);
  } catch (error) {
    const reason = error instanceof Error && 'code' in error && error.code === 'ENOENT' ? 'no such file' : 'not readable';
    throw new InputFileUnreadable(`cannot read ${what} ${path}: ${reason}`, { cause: error });
  }
}

async function decodeOrExplain(path: string, what: string, ffmpegPath: string, signal?: AbortSignal): Promise<RgbFrames> {
  await assertReadable(path, what);
  try {
    return (await decodeVideo(path, { ffmpegPath, signal })).frames;
  } catch (error) {
    if (error instanceof Error && 'code' in error && error.code === 'VideoDecodeFailed') {
      throw new InputFileUnreadable(`${path} is not ${what === 'image' ? 'an image' : 'a video'} ffmpeg can read`, { cause: error });
    }
    throw error;
  }
}

/** An image as one RGB frame (an animated image's first frame). */
export async function readInitImage(path: string, ffmpegPath: string, signal?: AbortSignal): Promise<RgbFrames> {
  const frames = await decodeOrExplain(path, 'image', ffmpegPath, signal);
  const frameBytes = frames.height * frames.width * 3;
  return { data: frames.data.subarray(0, frameBytes), frameCount: 1, height: frames.height, width: frames.width };
}

/** Every frame of a video; the pipeline samples the key frames from them. */
export async function readInitVideo(path: string, ffmpegPath: string, signal?: AbortSignal): Promise<RgbFrames> {
  return decodeOrExplain(path, 'video', ffmpegPath, signal);
}
