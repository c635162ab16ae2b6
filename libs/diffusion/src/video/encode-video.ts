import { rm } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import type { VideoFormat } from '@magicvideo/shared';
import { runFfmpeg } from './ffmpeg-process';
import { formatFrameRate, toFrameRate, type FrameRate } from './frame-rate';
import type { RgbFrames } from './frames';

export type { VideoFormat };

/** ffmpeg failed to encode: the message carries the end of its stderr. */
export class VideoEncodeFailed extends Error {
  readonly code = 'VideoEncodeFailed';
  constructor(detail: string, options?: { cause?: unknown }) {
    super(`VideoEncodeFailed: ${detail}`, options);
    this.name = 'VideoEncodeFailed';
  }
}

/** This ffmpeg build has no encoder that browsers play for the requested format. */
export class VideoEncoderUnavailable extends Error {
  readonly code = 'VideoEncoderUnavailable';
  constructor(format: VideoFormat, tried: readonly string[]) {
    super(`VideoEncoderUnavailable: this ffmpeg has none of ${tried.join(', ')} for ${format}`);
    this.name = 'VideoEncoderUnavailable';
  }
}

export interface EncodeVideoOptions {
  /** Frames per second; a number is read as the nearest rational with denominator ≤ 1001. */
  readonly fps: number | FrameRate;
  readonly format: VideoFormat;
  /**
   * A file path, or a stream that receives the video and is ended with it. MP4 to a stream is
   * fragmented (`frag_keyframe+empty_moov`), since `+faststart` needs to seek back in a file.
   */
  readonly output: string | Writable;
  readonly ffmpegPath: string;
  readonly signal?: AbortSignal;
}

export interface EncodedVideo {
  readonly format: VideoFormat;
  /** The ffmpeg encoder used (`libx264`, `libvpx-vp9`, `gif`, …). */
  readonly encoder: string;
  readonly frameRate: FrameRate;
  readonly frameCount: number;
  /** The video's size: odd sizes are padded to even for the yuv420p codecs. */
  readonly width: number;
  readonly height: number;
}

interface EncoderChoice {
  readonly encoder: string;
  /** ffmpeg output options for this encoder, after `-c:v`. */
  readonly options: readonly string[];
}

/**
 * Per format, the encoders browsers play, best first. Quality settings give visually lossless
 * results on the generated videos (H.264 CRF 18; VP9 constant quality).
 */
const ENCODER_PREFERENCES: Record<Exclude<VideoFormat, 'gif'>, readonly EncoderChoice[]> = {
  mp4: [
    { encoder: 'libx264', options: ['-preset', 'medium', '-crf', '18'] },
    { encoder: 'libopenh264', options: ['-b:v', '8M'] },
    { encoder: 'libsvtav1', options: ['-crf', '30', '-preset', '8'] },
    { encoder: 'libaom-av1', options: ['-crf', '30', '-b:v', '0', '-cpu-used', '6', '-strict', 'experimental'] },
  ],
  webm: [
    { encoder: 'libvpx-vp9', options: ['-crf', '24', '-b:v', '0', '-deadline', 'good', '-cpu-used', '4', '-row-mt', '1'] },
    { encoder: 'libvpx', options: ['-crf', '8', '-b:v', '8M', '-deadline', 'good', '-cpu-used', '4'] },
    { encoder: 'libsvtav1', options: ['-crf', '30', '-preset', '8'] },
    { encoder: 'libaom-av1', options: ['-crf', '30', '-b:v', '0', '-cpu-used', '6', '-strict', 'experimental'] },
  ],
};

const encodersByBinary = new Map<string, Promise<ReadonlySet<string>>>();

/** The video encoders this ffmpeg build has (`ffmpeg -encoders`), asked once per binary. */
export function availableVideoEncoders(ffmpegPath: string, signal?: AbortSignal): Promise<ReadonlySet<string>> {
  let encoders = encodersByBinary.get(ffmpegPath);
  if (encoders === undefined) {
    encoders = runFfmpeg({
      ffmpegPath,
      args: ['-hide_banner', '-encoders'],
      signal,
      failure: (message, cause) => new VideoEncodeFailed(`listing encoders: ${message}`, { cause }),
    }).then(({ stdout }) => {
      // Lines look like ` V..... libx264    libx264 H.264 / AVC …`; the flags start with V for video.
      const names = [...stdout.toString('utf8').matchAll(/^ V\S{5} (\S+)/gm)].map((match) => match[1]!);
      return new Set(names);
    });
    encodersByBinary.set(ffmpegPath, encoders);
    encoders.catch(() => encodersByBinary.delete(ffmpegPath));
  }
  return encoders;
}

async function chooseEncoder(format: VideoFormat, ffmpegPath: string, signal?: AbortSignal): Promise<EncoderChoice> {
  if (format === 'gif') return { encoder: 'gif', options: [] };
  const available = await availableVideoEncoders(ffmpegPath, signal);
  const preferences = ENCODER_PREFERENCES[format];
  const choice = preferences.find((candidate) => available.has(candidate.encoder));
  if (choice === undefined) throw new VideoEncoderUnavailable(format, preferences.map((candidate) => candidate.encoder));
  return choice;
}

/** ffmpeg's output options: filters, codec, pixel format and container flags. */
function outputArguments(format: VideoFormat, choice: EncoderChoice, frames: RgbFrames, toFile: boolean): string[] {
  if (format === 'gif') {
    // One palette for the whole clip, computed from every frame, in one filter graph.
    return ['-filter_complex', '[0:v]split[frames][sample];[sample]palettegen[palette];[frames][palette]paletteuse', '-loop', '0', '-f', 'gif'];
  }
  // yuv420p halves chroma resolution, so the encoders need even sizes: repeat the last column
  // and row rather than scale (which would blur every pixel) or pad with black.
  const padRight = frames.width % 2;
  const padBottom = frames.height % 2;
  const filters =
    padRight + padBottom === 0
      ? []
      : ['-vf', `pad=${frames.width + padRight}:${frames.height + padBottom},fillborders=right=${padRight}:bottom=${padBottom}:mode=smear`];
  const container =
    format === 'mp4'
      ? ['-movflags', toFile ? '+faststart' : '+frag_keyframe+empty_moov+default_base_moof', '-f', 'mp4']
      : ['-f', 'webm'];
  return [...filters, '-c:v', choice.encoder, ...choice.options, '-pix_fmt', 'yuv420p', ...container];
}

/** The frames one by one, as views into the batch (no copies). */
function* framesOf(frames: RgbFrames): Generator<Uint8Array> {
  const frameBytes = frames.height * frames.width * 3;
  for (let f = 0; f < frames.frameCount; f++) yield frames.data.subarray(f * frameBytes, (f + 1) * frameBytes);
}

/**
 * Encodes RGB frames [F, H, W, 3] to MP4 (H.264), WebM (VP9) or GIF by streaming them as raw
 * rgb24 into ffmpeg's stdin: no intermediate images on disk. The frame rate is exact (passed as
 * a rational). A failed or aborted encode leaves no partial output file behind.
 */
export async function encodeVideo(frames: RgbFrames, options: EncodeVideoOptions): Promise<EncodedVideo> {
  const { format, output, ffmpegPath, signal } = options;
  const { frameCount, height, width } = frames;
  if (frameCount < 1 || height < 1 || width < 1 || frames.data.length !== frameCount * height * width * 3) {
    throw new VideoEncodeFailed(`frames of shape [${frameCount}, ${height}, ${width}, 3] cannot hold ${frames.data.length} bytes`);
  }
  const frameRate = toFrameRate(options.fps);
  const choice = await chooseEncoder(format, ffmpegPath, signal);
  const toFile = typeof output === 'string';
  const args = [
    '-hide_banner',
    '-nostats',
    '-loglevel',
    'error',
    '-f',
    'rawvideo',
    '-pix_fmt',
    'rgb24',
    '-s',
    `${width}x${height}`,
    '-framerate',
    formatFrameRate(frameRate),
    '-i',
    'pipe:0',
    ...outputArguments(format, choice, frames, toFile),
    '-y',
    toFile ? output : 'pipe:1',
  ];
  try {
    await runFfmpeg({
      ffmpegPath,
      args,
      input: framesOf(frames),
      output: toFile ? undefined : output,
      signal,
      failure: (message, cause) => new VideoEncodeFailed(message, { cause }),
    });
  } catch (error) {
    if (toFile) await rm(output, { force: true });
    throw error;
  }
  const even = format !== 'gif';
  return {
    format,
    encoder: choice.encoder,
    frameRate,
    frameCount,
    width: even ? width + (width % 2) : width,
    height: even ? height + (height % 2) : height,
  };
}
