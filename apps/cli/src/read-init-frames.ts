import { access, constants } from 'node:fs/promises';
import { decodeInitFrames, InitNotDecodable, type InitSource, type RgbFrames } from '@magicvideo/diffusion';
import { InputFileUnreadable } from './cli-errors';

/** The frames `animate` and `edit` start from; a file that is not one is a CLI message naming it. */

async function assertReadable(path: string, what: string): Promise<void> {
  try {
    await access(path, constants.R_OK);
  } catch (error) {
    const reason = error instanceof Error && 'code' in error && error.code === 'ENOENT' ? 'no such file' : 'not readable';
    throw new InputFileUnreadable(`cannot read ${what} ${path}: ${reason}`, { cause: error });
  }
}

async function decodeOrExplain(path: string, what: InitSource, ffmpegPath: string, signal?: AbortSignal): Promise<RgbFrames> {
  await assertReadable(path, what);
  try {
    return await decodeInitFrames(path, what, { ffmpegPath, ...(signal ? { signal } : {}) });
  } catch (error) {
    if (!(error instanceof InitNotDecodable)) throw error;
    throw new InputFileUnreadable(`${path} is not ${what === 'image' ? 'an image' : 'a video'} ffmpeg can read`, { cause: error.cause ?? error });
  }
}

/** An image as one RGB frame (an animated image's first frame). */
export async function readInitImage(path: string, ffmpegPath: string, signal?: AbortSignal): Promise<RgbFrames> {
  return decodeOrExplain(path, 'image', ffmpegPath, signal);
}

/** Every frame of a video; the pipeline samples the key frames from them. */
export async function readInitVideo(path: string, ffmpegPath: string, signal?: AbortSignal): Promise<RgbFrames> {
  return decodeOrExplain(path, 'video', ffmpegPath, signal);
}
