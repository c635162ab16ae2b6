import { extname, resolve } from 'node:path';
import { VIDEO_FORMATS, type VideoFormat } from '@magicvideo/diffusion';

export interface OutputPaths {
  /** one file per requested format: `<name>.<format>` */
  videos: Partial<Record<VideoFormat, string>>;
  /** `<name>.artifacts/`, next to the videos */
  artifactsDir: string;
}

/**
 * Where a run's files go: `-o out.mp4` names the video (its extension is swapped for each
 * other requested format); without `-o`, `./magicvideo-<seed>.<format>`. The artifacts folder
 * sits next to them, named after the video.
 */
export function outputPaths(output: string | undefined, seed: number, formats: readonly VideoFormat[], cwd: string): OutputPaths {
  const requested = output ?? `magicvideo-${seed}`;
  const extension = extname(requested);
  const namesFormat = (VIDEO_FORMATS as readonly string[]).includes(extension.slice(1).toLowerCase());
  const base = resolve(cwd, namesFormat ? requested.slice(0, -extension.length) : requested);
  const videos: Partial<Record<VideoFormat, string>> = {};
  for (const format of formats) videos[format] = `${base}.${format}`;
  return { videos, artifactsDir: `${base}.artifacts` };
}
