import { decodeVideo } from '../video/decode-video';
import type { RgbFrames } from '../video/frames';

/**
 * The frames image-to-video and editing start from (paper §4.3), decoded by ffmpeg (PNG, JPEG,
 * WebP, GIF and every video container): no image decoder of our own. The CLI and the key-frame
 * worker both read init files through this.
 */

export type InitSource = 'image' | 'video';

/** ffmpeg could not decode the file, or "decoded" a text file: not the image or video meant. */
export class InitNotDecodable extends Error {
  readonly code = 'InitNotDecodable';
  constructor(
    readonly source: InitSource,
    readonly reason: 'undecodable' | 'text',
    options?: ErrorOptions,
  ) {
    super(`InitNotDecodable: the init ${source} ${reason === 'text' ? 'is a text file' : 'cannot be decoded'}`, options);
    this.name = 'InitNotDecodable';
  }
}

/**
 * ffmpeg's `tty` demuxer reads any text file (by its .txt/.nfo/… extension) as ANSI art and
 * "decodes" it to frames; a text file is never the image or video a user meant.
 */
const TEXT_AS_VIDEO_CODECS = new Set(['ansi']);

/** An image as one RGB frame (an animated image's first frame), or every frame of a video. */
export async function decodeInitFrames(
  path: string,
  source: InitSource,
  options: { ffmpegPath: string; signal?: AbortSignal },
): Promise<RgbFrames> {
  let decoded;
  try {
    decoded = await decodeVideo(path, options);
  } catch (error) {
    if (error instanceof Error && 'code' in error && error.code === 'VideoDecodeFailed') {
      throw new InitNotDecodable(source, 'undecodable', { cause: error });
    }
    throw error;
  }
  if (TEXT_AS_VIDEO_CODECS.has(decoded.codec)) throw new InitNotDecodable(source, 'text');
  const { frames } = decoded;
  if (source === 'video') return frames;
  const frameBytes = frames.height * frames.width * 3;
  return { data: frames.data.subarray(0, frameBytes), frameCount: 1, height: frames.height, width: frames.width };
}
