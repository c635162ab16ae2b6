import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeVideo, probeVideo, VideoDecodeFailed } from './decode-video';
import { encodeVideo } from './encode-video';
import { resolveFfmpegPath } from './ffmpeg-path';

let ffmpegPath: string;
let workDir: string;
beforeAll(async () => {
  ffmpegPath = await resolveFfmpegPath();
  workDir = await mkdtemp(join(tmpdir(), 'decode-video-'));
});
afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

describe('decodeVideo', () => {
  it('returns the frames in order, each one exactly once', async () => {
    // Each frame one flat grey level, far apart, so frame order survives lossy coding.
    const levels = [16, 80, 144, 208, 48, 112];
    const height = 16;
    const width = 32;
    const data = new Uint8Array(levels.length * height * width * 3);
    levels.forEach((level, f) => data.fill(level, f * height * width * 3, (f + 1) * height * width * 3));
    const output = join(workDir, 'levels.mp4');
    await encodeVideo({ data, frameCount: levels.length, height, width }, { fps: 12, format: 'mp4', output, ffmpegPath });

    const decoded = await decodeVideo(output, { ffmpegPath });
    expect(decoded.frames.data.length).toBe(levels.length * height * width * 3);
    const meanOfFrame = (f: number) => {
      const frame = decoded.frames.data.subarray(f * height * width * 3, (f + 1) * height * width * 3);
      return frame.reduce((sum, v) => sum + v, 0) / frame.length;
    };
    levels.forEach((level, f) => expect(Math.abs(meanOfFrame(f) - level)).toBeLessThan(3));
  });

  it('refuses a file that is not a video with VideoDecodeFailed naming it', async () => {
    const notAVideo = join(workDir, 'notes.mp4');
    await writeFile(notAVideo, 'these are not video frames');
    await expect(decodeVideo(notAVideo, { ffmpegPath })).rejects.toBeInstanceOf(VideoDecodeFailed);
    await expect(probeVideo(notAVideo, { ffmpegPath })).rejects.toThrow(/notes\.mp4/);
  });
});
