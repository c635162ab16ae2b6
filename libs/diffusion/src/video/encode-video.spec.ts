import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeVideo } from './decode-video';
import { encodeVideo, VideoEncodeFailed, type VideoFormat } from './encode-video';
import { FfmpegNotFound, resolveFfmpegPath } from './ffmpeg-path';
import type { FrameRate } from './frame-rate';
import type { RgbFrames } from './frames';

let ffmpegPath: string;
let workDir: string;
beforeAll(async () => {
  ffmpegPath = await resolveFfmpegPath();
  workDir = await mkdtemp(join(tmpdir(), 'encode-video-'));
});
afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

/**
 * A square moving diagonally over a smooth colour gradient: smooth content with one sharp
 * edge that moves, the kind of clip the models produce.
 */
function movingSquare(frameCount: number, height: number, width: number): RgbFrames {
  const data = new Uint8Array(frameCount * height * width * 3);
  const side = Math.max(4, Math.round(Math.min(height, width) / 4));
  for (let f = 0; f < frameCount; f++) {
    const progress = frameCount === 1 ? 0 : f / (frameCount - 1);
    const top = Math.round(progress * (height - side));
    const left = Math.round(progress * (width - side));
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const i = ((f * height + y) * width + x) * 3;
        const inside = y >= top && y < top + side && x >= left && x < left + side;
        data[i] = inside ? 230 : Math.round(40 + (150 * x) / width);
        data[i + 1] = inside ? 200 : Math.round(60 + (120 * y) / height);
        data[i + 2] = inside ? 40 : 120;
      }
    }
  }
  return { data, frameCount, height, width };
}

function psnr(expected: RgbFrames, actual: RgbFrames): number {
  let squaredError = 0;
  for (let i = 0; i < expected.data.length; i++) squaredError += (expected.data[i]! - actual.data[i]!) ** 2;
  const mse = squaredError / expected.data.length;
  return 10 * Math.log10((255 * 255) / mse);
}

const CODEC: Record<VideoFormat, string> = { mp4: 'h264', webm: 'vp9', gif: 'gif' };
/** GIF: 256 colours with dithering, so a looser bound than the video codecs. */
const MIN_PSNR_DB: Record<VideoFormat, number> = { mp4: 30, webm: 30, gif: 24 };

describe.each(['mp4', 'webm', 'gif'] as const)('encodeVideo to %s', (format) => {
  it.each([
    { frameCount: 16, size: 64, fps: 8 },
    { frameCount: 61, size: 256, fps: 32 },
  ])('keeps $frameCount frames of $size² at $fps fps through a decode', async ({ frameCount, size, fps }) => {
    const frames = movingSquare(frameCount, size, size);
    const output = join(workDir, `square-${frameCount}-${size}.${format}`);
    const encoded = await encodeVideo(frames, { fps, format, output, ffmpegPath });
    expect(encoded).toMatchObject({ format, width: size, height: size, frameCount, frameRate: { numerator: fps, denominator: 1 } });

    const decoded = await decodeVideo(output, { ffmpegPath });
    expect(decoded.codec).toBe(CODEC[format]);
    expect([decoded.frameCount, decoded.height, decoded.width]).toEqual([frameCount, size, size]);
    if (format === 'gif') {
      // GIF delays are whole centiseconds: 1/32 s is stored as 3 or 4 cs, so the mean is near.
      expect(Math.abs(decoded.fps - fps) / fps).toBeLessThan(0.02);
    } else {
      expect(decoded.frameRate).toEqual({ numerator: fps, denominator: 1 });
    }
    expect(psnr(frames, decoded.frames)).toBeGreaterThan(MIN_PSNR_DB[format]);
  });

  it('handles odd sizes (padded to even for the yuv420p codecs)', async () => {
    const frames = movingSquare(5, 45, 63);
    const output = join(workDir, `odd.${format}`);
    const encoded = await encodeVideo(frames, { fps: 8, format, output, ffmpegPath });
    const decoded = await decodeVideo(output, { ffmpegPath });
    const [height, width] = format === 'gif' ? [45, 63] : [46, 64];
    expect([encoded.height, encoded.width]).toEqual([height, width]);
    expect([decoded.frameCount, decoded.height, decoded.width]).toEqual([5, height, width]);
    // The original pixels sit in the top-left corner of the padded frame.
    const cropped = new Uint8Array(frames.data.length);
    for (let f = 0; f < 5; f++)
      for (let y = 0; y < 45; y++) {
        const from = ((f * height + y) * width) * 3;
        cropped.set(decoded.frames.data.subarray(from, from + 63 * 3), ((f * 45 + y) * 63) * 3);
      }
    expect(psnr(frames, { ...frames, data: cropped })).toBeGreaterThan(MIN_PSNR_DB[format]);
  });
});

describe('encodeVideo', () => {
  it('keeps a fractional frame rate exact', async () => {
    const ntsc: FrameRate = { numerator: 30000, denominator: 1001 };
    const output = join(workDir, 'ntsc.mp4');
    await encodeVideo(movingSquare(16, 64, 64), { fps: ntsc, format: 'mp4', output, ffmpegPath });
    expect((await decodeVideo(output, { ffmpegPath })).frameRate).toEqual(ntsc);
  });

  it('writes a playable MP4 to a stream (fragmented, since a stream cannot seek)', async () => {
    const stream = new PassThrough();
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    const frames = movingSquare(16, 64, 64);
    await encodeVideo(frames, { fps: 16, format: 'mp4', output: stream, ffmpegPath });
    expect(stream.writableEnded).toBe(true);
    const file = join(workDir, 'streamed.mp4');
    await writeFile(file, Buffer.concat(chunks));
    const decoded = await decodeVideo(file, { ffmpegPath });
    expect([decoded.frameCount, decoded.codec]).toEqual([16, 'h264']);
    expect(psnr(frames, decoded.frames)).toBeGreaterThan(30);
  });

  it('kills ffmpeg and rejects with the abort reason when aborted mid-encode', async () => {
    // A wrapper that records ffmpeg's pid, so the test can check the process is gone.
    const pidFile = join(workDir, 'ffmpeg.pid');
    const wrapper = join(workDir, 'ffmpeg-recording-pid.sh');
    await writeFile(wrapper, `#!/bin/sh\necho $$ > '${pidFile}'\nexec '${ffmpegPath}' "$@"\n`);
    await chmod(wrapper, 0o755);

    const frames = movingSquare(61, 256, 256);
    const whole = new PassThrough();
    let wholeBytes = 0;
    whole.on('data', (chunk: Buffer) => (wholeBytes += chunk.length));
    await encodeVideo(frames, { fps: 32, format: 'webm', output: whole, ffmpegPath });

    const controller = new AbortController();
    const reason = new Error('request cancelled');
    const stream = new PassThrough();
    let abortedBytes = 0;
    stream.on('data', (chunk: Buffer) => {
      abortedBytes += chunk.length;
      controller.abort(reason);
    });
    const encoding = encodeVideo(frames, {
      fps: 32,
      format: 'webm',
      output: stream,
      ffmpegPath: wrapper,
      signal: controller.signal,
    });
    await expect(encoding).rejects.toBe(reason);
    const pid = Number((await readFile(pidFile, 'utf8')).trim());
    expect(() => process.kill(pid, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
    // Killed at its first output: the rest of the video (at least WebM's closing cues) never came.
    expect(abortedBytes).toBeGreaterThan(0);
    expect(abortedBytes).toBeLessThan(wholeBytes);
  });

  it('removes the partial file when aborted', async () => {
    const controller = new AbortController();
    const output = join(workDir, 'aborted.mp4');
    const encoding = encodeVideo(movingSquare(61, 256, 256), { fps: 32, format: 'mp4', output, ffmpegPath, signal: controller.signal });
    setImmediate(() => controller.abort());
    await expect(encoding).rejects.toMatchObject({ name: 'AbortError' });
    await expect(stat(output)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('rejects at once, running nothing, when the signal is already aborted', async () => {
    const reason = new Error('already cancelled');
    const output = join(workDir, 'never.mp4');
    await expect(
      encodeVideo(movingSquare(2, 8, 8), { fps: 8, format: 'gif', output, ffmpegPath, signal: AbortSignal.abort(reason) }),
    ).rejects.toBe(reason);
  });

  it("reports ffmpeg's failure with the end of its stderr", async () => {
    const output = join(workDir, 'no-such-directory', 'video.mp4');
    const failure = encodeVideo(movingSquare(4, 16, 16), { fps: 8, format: 'mp4', output, ffmpegPath });
    await expect(failure).rejects.toBeInstanceOf(VideoEncodeFailed);
    await expect(failure).rejects.toThrow(/exited with code \d+.*no-such-directory/s);
  });

  it('throws FfmpegNotFound for an ffmpeg path that does not exist', async () => {
    const output = join(workDir, 'unreachable.mp4');
    const ffmpegPath = join(workDir, 'no-ffmpeg-here');
    await expect(encodeVideo(movingSquare(2, 8, 8), { fps: 8, format: 'mp4', output, ffmpegPath })).rejects.toBeInstanceOf(
      FfmpegNotFound,
    );
  });
});
