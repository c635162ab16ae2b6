import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalArtifacts, runPipeline, type ResolvedGenerationRequest, type StageTimings } from '@magicvideo/diffusion';
import { attributeCallsToStages, type ProgressMark, type StageModelUse } from './stage-breakdown';
import type { SessionLoad, TimedModelFolder } from './timed-model-folder';

/**
 * One request through `runPipeline`, exactly as `magicvideo generate` runs it (the DESIGN.md §4
 * artifacts written to a local folder, here a temporary one), with every model call recorded.
 */

export interface PipelineMeasurement {
  /** runPipeline's own stage timings (ms) */
  stageMs: StageTimings;
  totalMs: number;
  modelUse: StageModelUse;
  /** sessions created during this run (the first run of a folder creates all but the text encoder's) */
  sessionLoads: SessionLoad[];
  video: { frameCount: number; width: number; height: number; fps: number };
}

export async function runTimedPipeline(
  folder: TimedModelFolder,
  request: ResolvedGenerationRequest,
  options: { ffmpegPath: string },
): Promise<PipelineMeasurement> {
  const workDir = await mkdtemp(join(tmpdir(), 'magicvideo-bench-'));
  try {
    const artifacts = await LocalArtifacts.open(workDir);
    const marks: ProgressMark[] = [];
    folder.take();
    const started = performance.now();
    const result = await runPipeline(folder, request, {
      ffmpegPath: options.ffmpegPath,
      artifacts,
      onProgress: ({ stage }) => marks.push({ stage, atMs: performance.now() }),
    });
    const totalMs = performance.now() - started;
    const { calls, loads } = folder.take();
    const video = result.videos[0];
    if (video === undefined) throw new Error('runPipeline returned no video');
    return {
      stageMs: result.timings,
      totalMs,
      modelUse: attributeCallsToStages(calls, marks, loads),
      sessionLoads: loads,
      video: { frameCount: video.frameCount, width: video.width, height: video.height, fps: video.fps },
    };
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}
