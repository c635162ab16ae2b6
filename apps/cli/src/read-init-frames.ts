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

/**
 * ffmpeg's `tty` demuxer reads any text file (by its .txt/.nfo/… extension) as ANSI art and
 * "decodes" it to frames; a text file is never the image or video a user meant.
 */
const TEXT_AS_VIDEO_CODECS = new Set(['ansi']);

async function decodeOrExplain(path: string, what: 'image' | 'video', ffmpegPath: string, signal?: AbortSignal): Promise<RgbFrames> {
  await assertReadable(path, what);
  const notReadable = (cause?: unknown) =>
    new InputFileUnreadable(`${path} is not ${what === 'image' ? 'an image' : 'a video'} ffmpeg can read`, { cause });
  let decoded;
  try {
    decoded = await decodeVideo(path, { ffmpegPath, signal });
  } catch (error) {
    if (error instanceof Error && 'code' in error && error.code === 'VideoDecodeFailed') throw notReadable(error);
    throw error;
  }
  if (TEXT_AS_VIDEO_CODECS.has(decoded.codec)) throw notReadable();
  return decoded.frames;
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
