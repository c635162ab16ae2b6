import { isAbsolute, relative } from 'node:path';
import {
  LocalArtifacts,
  openModelFolder,
  parseGenerationRequest,
  resolveFfmpegPath,
  resolveGenerationRequest,
  runPipeline,
  type PipelineResult,
  type RgbFrames,
} from '@magicvideo/diffusion';
import type { GenerationCommand } from './cli-arguments';
import { outputPaths } from './output-paths';
import { createProgressDisplay, type ProgressOutput } from './progress-display';
import { readInitImage, readInitVideo } from './read-init-frames';

/**
 * `magicvideo generate | animate | edit`: one request through the whole pipeline in this process
 * (DESIGN.md §9, the embedded default), artifacts in a folder next to the video.
 */

export interface GenerationEnvironment {
  out: ProgressOutput;
  cwd: string;
  signal: AbortSignal;
  /** the shipped model folder, for runs without `--models` */
  defaultModelsDir: () => Promise<string>;
}

async function readInitFrames(command: GenerationCommand, ffmpegPath: string, signal: AbortSignal): Promise<RgbFrames | undefined> {
  if (command.initPath === undefined) return undefined;
  return command.kind === 'animate'
    ? readInitImage(command.initPath, ffmpegPath, signal)
    : readInitVideo(command.initPath, ffmpegPath, signal);
}

function summary(result: PipelineResult, artifactsDir: string, cwd: string): string {
  const shown = (path: string) => {
    const fromCwd = relative(cwd, path);
    return fromCwd.startsWith('..') || isAbsolute(fromCwd) ? path : fromCwd || '.';
  };
  const videos = result.videos.map(
    (video) => `wrote ${shown(video.path)} (${video.frameCount} frames, ${video.width}×${video.height}, ${video.fps} fps)`,
  );
  const timings = Object.entries(result.timings).map(([stage, ms]) => `${stage} ${(ms / 1000).toFixed(1)}s`);
  const truncated = result.promptTokens.truncated ? [`note: the prompt was cut to fit the text encoder (${result.promptTokens.droppedTokenCount} tokens dropped)`] : [];
  return [...videos, `artifacts ${shown(artifactsDir)}/`, `timings: ${timings.join(', ')}`, ...truncated].join('\n');
}

export async function runGeneration(command: GenerationCommand, env: GenerationEnvironment): Promise<void> {
  const { out, cwd, signal } = env;
  // every check that needs no model comes first, so a typo fails in milliseconds
  parseGenerationRequest(command.request);
  const ffmpegPath = await resolveFfmpegPath();
  const initFrames = await readInitFrames(command, ffmpegPath, signal);
  const modelsDir = command.modelsDir ?? (await env.defaultModelsDir());
  const folder = await openModelFolder(modelsDir, {
    executionProviders: ['cpu'],
    ...(command.threads === undefined ? {} : { intraOpNumThreads: command.threads }),
  });
  try {
    const request = resolveGenerationRequest(command.request, folder.manifest);
    out.write(`seed ${request.seed}\n`);
    const paths = outputPaths(command.output, request.seed, request.formats, cwd);
    const artifacts = await LocalArtifacts.open(paths.artifactsDir);
    const progress = createProgressDisplay(out);
    let result: PipelineResult;
    try {
      result = await runPipeline(folder, request, {
        ffmpegPath,
        artifacts,
        videoPath: (format) => paths.videos[format] ?? artifacts.videoPath(format),
        ...(initFrames === undefined ? {} : { initFrames }),
        onProgress: (stageProgress) => progress.update(stageProgress),
        signal,
      });
    } finally {
      progress.finish();
    }
    out.write(`${summary(result, paths.artifactsDir, cwd)}\n`);
  } finally {
    await folder.close();
  }
}
