import type { FlowJob, Queue } from 'bullmq';
import { artifactKey, type ArtifactName } from '../contracts/artifact-keys';
import type { ResolvedGenerationRequest } from '../contracts/generation-request';
import type { StageName } from '../contracts/queue-names';
import { bullmqPriority, stageJobId, type StageJobData } from './stage-job';

export interface VideoFlowOptions {
  videoId: string;
  /** every stage of the video's flow, in order */
  stages: readonly StageName[];
  /** the stage this run starts at (a retry's first unfinished stage); default the first */
  fromStage?: StageName;
  /** the run these jobs belong to (1, then one more per retry): part of their job ids */
  run?: number;
  /** the API's priority (higher sooner), given to every stage's job so the video keeps its place in later queues too */
  priority?: number;
  params: ResolvedGenerationRequest;
  /** input artifacts of the run's first stage (request.json and init.bin for the flow's first stage) */
  firstInputs: Partial<Record<ArtifactName, string>>;
  attempts: number;
  backoffMs: number;
  queuePrefix: string;
}

const COMPLETED_JOB_AGE_SECONDS = 86_400;
const FAILED_JOB_AGE_SECONDS = 7 * 86_400;

/** The stages a request runs, in flow order (DESIGN.md §1: optional stages are left out, never replaced). */
export function stagesFor(request: Pick<ResolvedGenerationRequest, 'interpolate' | 'superResolution'>): StageName[] {
  return ['keyframe', ...(request.interpolate ? (['interp'] as const) : []), 'decode', ...(request.superResolution ? (['sr'] as const) : [])];
}

/**
 * The S3 keys a stage reads (DESIGN.md §4), given the flow's stages. The first stage's init
 * image or video is added by the caller, who knows whether one was uploaded.
 */
export function stageInputs(videoId: string, stage: StageName, stages: readonly StageName[]): Partial<Record<ArtifactName, string>> {
  const keys = (...artifacts: ArtifactName[]): Partial<Record<ArtifactName, string>> =>
    Object.fromEntries(artifacts.map((artifact) => [artifact, artifactKey(videoId, artifact)]));
  switch (stage) {
    case 'keyframe':
      return keys('request');
    case 'interp':
      return keys('keyframes', 'text');
    case 'decode':
      return stages.includes('interp') ? keys('interp') : keys('keyframes');
    case 'sr':
      return keys('frames');
  }
}

/**
 * DESIGN.md §3: one BullMQ job per stage, chained as a flow. A flow parent runs after its
 * children, so the LAST stage is the root and the first stage the deepest leaf. Every job fails
 * its parent when it fails for good; otherwise the parent would wait in `waiting-children` for ever.
 */
export function buildVideoFlow(options: VideoFlowOptions): FlowJob {
  const { videoId, stages } = options;
  if (stages.length === 0) throw new RangeError('a video flow needs at least one stage');
  const from = options.fromStage === undefined ? 0 : stages.indexOf(options.fromStage);
  if (from < 0) throw new RangeError(`the flow has no ${String(options.fromStage)} stage`);
  const priority = bullmqPriority(options.priority ?? 0);
  let child: FlowJob | undefined;
  for (const [index, stage] of stages.entries()) {
    if (index < from) continue;
    const data: StageJobData = {
      videoId,
      stage,
      params: options.params,
      inputs: index === from ? { ...options.firstInputs } : stageInputs(videoId, stage, stages),
      last: index === stages.length - 1,
    };
    const job: FlowJob = {
      name: stage,
      queueName: stage,
      prefix: options.queuePrefix,
      data,
      opts: {
        jobId: stageJobId(videoId, stage, options.run),
        priority,
        failParentOnFailure: true,
        attempts: options.attempts,
        backoff: { type: 'exponential', delay: options.backoffMs },
        removeOnComplete: { age: COMPLETED_JOB_AGE_SECONDS },
        removeOnFail: { age: FAILED_JOB_AGE_SECONDS },
      },
      ...(child === undefined ? {} : { children: [child] }),
    } as FlowJob;
    child = job;
  }
  return child as FlowJob;
}

/** Job states of a stage that has not started: removing the job means it never runs. */
const NOT_STARTED_STATES: ReadonlySet<string> = new Set(['waiting', 'delayed', 'waiting-children', 'prioritized']);

/**
 * Cancel: removes the video's stage jobs that have not started, so none of them runs, and returns
 * how many were removed. Active jobs stay (their worker turns the cancel into an AbortSignal).
 *
 * Jobs are removed from the root down, each without its children: removing a child first would
 * move its now childless parent to `wait` and make it runnable, and removing a parent with its
 * children fails outright while one of them is active. A child whose parent was removed never
 * promotes anything when it finishes (BullMQ finds no parent to update).
 */
export async function removeWaitingStageJobs(
  queues: Record<StageName, Queue>,
  videoId: string,
  stages: readonly StageName[],
  run = 1,
): Promise<number> {
  let removed = 0;
  for (const stage of [...stages].reverse()) {
    const queue = queues[stage];
    const jobId = stageJobId(videoId, stage, run);
    const state = await queue.getJobState(jobId);
    if (!NOT_STARTED_STATES.has(state)) continue;
    // 0: the job became active between the two calls (its lock protects it); the cancel signal stops it.
    if ((await queue.remove(jobId, { removeChildren: false })) === 1) removed += 1;
  }
  return removed;
}
