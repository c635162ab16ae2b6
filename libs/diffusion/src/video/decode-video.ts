import { runFfmpeg } from './ffmpeg-process';
import { toFrameRate, type FrameRate } from './frame-rate';
import type { RgbFrames } from './frames';

/** ffmpeg could not read the video, or what it read does not add up. */
export class VideoDecodeFailed extends Error {
  readonly code = 'VideoDecodeFailed';
  constructor(detail: string, options?: { cause?: unknown }) {
    super(`VideoDecodeFailed: ${detail}`, options);
    this.name = 'VideoDecodeFailed';
  }
}

export interface VideoProbe {
  /** The input stream's codec as ffmpeg names it (`h264`, `vp9`, `gif`). */
  readonly codec: string;
  readonly width: number;
  readonly height: number;
  readonly frameCount: number;
  /**
   * Frames per second measured from the decoded frames' timestamps: (frames − 1) / (last pts −
   * first pts). Exact for constant-rate MP4/WebM; for GIF, whose delays are whole centiseconds,
   * the mean rate.
   */
  readonly frameRate: FrameRate;
  readonly fps: number;
}

export interface DecodedVideo extends VideoProbe {
  readonly frames: RgbFrames;
}

export interface DecodeOptions {
  readonly ffmpegPath: string;
  readonly signal?: AbortSignal;
}

function failure(path: string) {
  return (message: string, cause?: unknown) => new VideoDecodeFailed(`${path}: ${message}`, { cause });
}

// Every decoded frame exactly once: no duplicating or dropping to a constant output rate.
const PASSTHROUGH = ['-vsync', 'passthrough'];

function parseProbe(path: string, framecrc: string, stderr: string): VideoProbe {
  // framecrc: a header (`#tb 0: 1/32`, `#dimensions 0: 64x64`), then one line per frame:
  // `stream, dts, pts, duration, size, checksum`, timestamps in units of the time base.
  const timeBase = /^#tb 0: (\d+)\/(\d+)$/m.exec(framecrc);
  const dimensions = /^#dimensions 0: (\d+)x(\d+)$/m.exec(framecrc);
  const codec = /Input #0[\s\S]*?Stream #0:\d+\S*: Video: (\w+)/.exec(stderr);
  if (timeBase === null || dimensions === null || codec === null) {
    throw new VideoDecodeFailed(`${path}: no video stream found; ffmpeg said: ${stderr.slice(-2000).trim()}`);
  }
  const pts = [...framecrc.matchAll(/^0,\s*-?\d+,\s*(-?\d+),\s*(\d+),/gm)].map((match) => Number(match[1]));
  if (pts.length === 0) throw new VideoDecodeFailed(`${path}: the video has no frames`);
  const [tbNumerator, tbDenominator] = [Number(timeBase[1]), Number(timeBase[2])];
  const span = pts.length > 1 ? pts[pts.length - 1]! - pts[0]! : 1;
  const frameRate = toFrameRate({
    numerator: Math.max(pts.length - 1, 1) * tbDenominator,
    denominator: span * tbNumerator,
  });
  return {
    codec: codec[1]!,
    width: Number(dimensions[1]),
    height: Number(dimensions[2]),
    frameCount: pts.length,
    frameRate,
    fps: frameRate.numerator / frameRate.denominator,
  };
}

/** Size, frame count, codec and frame rate of a video, by decoding it once (no pixels kept). */
export async function probeVideo(path: string, options: DecodeOptions): Promise<VideoProbe> {
  const { stdout, stderrTail } = await runFfmpeg({
    ffmpegPath: options.ffmpegPath,
    args: ['-hide_banner', '-nostats', '-i', path, ...PASSTHROUGH, '-f', 'framecrc', 'pipe:1'],
    signal: options.signal,
    failure: failure(path),
  });
  return parseProbe(path, stdout.toString('utf8'), stderrTail);
}

/** Decodes a video file to RGB frames [F, H, W, 3] with its probe (for tests and checks). */
export async function decodeVideo(path: string, options: DecodeOptions): Promise<DecodedVideo> {
  const probe = await probeVideo(path, options);
  const { stdout } = await runFfmpeg({
    ffmpegPath: options.ffmpegPath,
    args: ['-hide_banner', '-nostats', '-loglevel', 'error', '-i', path, ...PASSTHROUGH, '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'],
    signal: options.signal,
    failure: failure(path),
  });
  const frameBytes = probe.width * probe.height * 3;
  if (stdout.length !== probe.frameCount * frameBytes) {
    throw new VideoDecodeFailed(
      `${path}: decoded ${stdout.length} bytes, expected ${probe.frameCount} frames of ${probe.width}×${probe.height}`,
    );
  }
  const data = new Uint8Array(stdout.buffer, stdout.byteOffset, stdout.length);
  return { ...probe, frames: { data, frameCount: probe.frameCount, height: probe.height, width: probe.width } };
}
