import type { ModelName, PipelineStage, StageProgress } from '@magicvideo/diffusion';
import type { ModelCall, SessionLoad } from './timed-model-folder';

/**
 * Which stage each model call (and each session creation) belongs to, from the progress events
 * of the same run: every stage reports progress after the model calls of that step (text after
 * its one call, decode after each chunk, the samplers after each step), so a call belongs to the
 * stage of the first progress event at or after its end. This keeps runPipeline untouched and
 * still tells the interpolation stage's decode of the key frames apart from the decode stage's.
 */

export interface ProgressMark {
  stage: StageProgress['stage'];
  atMs: number;
}

export interface ModelUse {
  model: ModelName;
  calls: number;
  /** the batch sizes seen, ascending */
  batches: number[];
  totalMs: number;
}

export interface StageBreakdown {
  uses: ModelUse[];
  /** sessions created on first use inside the stage */
  sessionLoadMs: number;
}

export type StageModelUse = Partial<Record<PipelineStage, StageBreakdown>>;

function stageAfter(ordered: readonly ProgressMark[], endMs: number, what: string): ProgressMark['stage'] {
  const stage = ordered.find((mark) => mark.atMs >= endMs)?.stage;
  if (stage === undefined) throw new Error(`${what} ended after the run's last progress event: cannot tell its stage`);
  return stage;
}

export function attributeCallsToStages(
  calls: readonly ModelCall[],
  marks: readonly ProgressMark[],
  loads: readonly SessionLoad[] = [],
): StageModelUse {
  const ordered = [...marks].sort((a, b) => a.atMs - b.atMs);
  const byStage: StageModelUse = {};
  const breakdown = (stage: ProgressMark['stage']) => (byStage[stage] ??= { uses: [], sessionLoadMs: 0 });
  for (const call of calls) {
    const { uses } = breakdown(stageAfter(ordered, call.endMs, `a ${call.model} call`));
    let use = uses.find((entry) => entry.model === call.model);
    if (use === undefined) {
      use = { model: call.model, calls: 0, batches: [], totalMs: 0 };
      uses.push(use);
    }
    use.calls += 1;
    use.totalMs += call.endMs - call.startMs;
    if (!use.batches.includes(call.batch)) use.batches = [...use.batches, call.batch].sort((a, b) => a - b);
  }
  for (const load of loads) {
    breakdown(stageAfter(ordered, load.endMs, `the ${load.model} session load`)).sessionLoadMs += load.endMs - load.startMs;
  }
  return byStage;
}

/** Model time of one stage, all models together. */
export function modelMs(breakdown: StageBreakdown | undefined): number {
  return (breakdown?.uses ?? []).reduce((total, use) => total + use.totalMs, 0);
}
