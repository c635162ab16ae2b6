import { describe, expect, it } from 'vitest';
import { outputPaths } from './output-paths';

describe('outputPaths', () => {
  it('names the video after the seed in the working directory when no -o is given', () => {
    expect(outputPaths(undefined, 42, ['mp4'], '/work')).toEqual({
      videos: { mp4: '/work/magicvideo-42.mp4' },
      artifactsDir: '/work/magicvideo-42.artifacts',
    });
  });

  it('swaps the extension of -o for each requested format and puts the artifacts next to it', () => {
    expect(outputPaths('out/clip.mp4', 1, ['mp4', 'gif', 'webm'], '/work')).toEqual({
      videos: { mp4: '/work/out/clip.mp4', gif: '/work/out/clip.gif', webm: '/work/out/clip.webm' },
      artifactsDir: '/work/out/clip.artifacts',
    });
  });

  it('keeps an -o name whose extension is not a video format whole', () => {
    expect(outputPaths('/abs/take.1', 1, ['gif'], '/work')).toEqual({
      videos: { gif: '/abs/take.1.gif' },
      artifactsDir: '/abs/take.1.artifacts',
    });
  });
});
