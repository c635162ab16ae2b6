import type { StageName } from '../contracts/queue-names';
import { LONG_WORK_BUCKETS_SECONDS, MODEL_CALL_BUCKETS_SECONDS } from './buckets';
import { counterFamily, gaugeFamily, histogramFamily } from './metric-family';

/** A stage worker's work (DESIGN.md §8: what the queue library does not give and operators need). */

/** Stages whose progress unit is a denoising step (decode reports decoded chunks). */
export const DENOISING_STAGES: readonly StageName[] = ['keyframe', 'interp', 'sr'];

export const STAGE_OUTCOMES = ['completed', 'failed', 'retried', 'cancelled'] as const;
export type StageOutcome = (typeof STAGE_OUTCOMES)[number];

export const stageDurationSeconds = histogramFamily({
  name: 'magicvideo_stage_duration_seconds',
  help: 'One attempt of a stage, from start to its end, by stage and outcome.',
  labelNames: ['stage', 'outcome'],
  buckets: LONG_WORK_BUCKETS_SECONDS,
});

export const stageQueueWaitSeconds = histogramFamily({
  name: 'magicvideo_stage_queue_wait_seconds',
  help: "From a stage's job becoming runnable (submission, or the previous stage's end) to its start.",
  labelNames: ['stage'],
  buckets: LONG_WORK_BUCKETS_SECONDS,
});

export const denoisingStepSeconds = histogramFamily({
  name: 'magicvideo_denoising_step_seconds',
  help: 'One denoising step of keyframe, interp or sr: the time between consecutive step reports of a stage.',
  labelNames: ['stage'],
  buckets: MODEL_CALL_BUCKETS_SECONDS,
});

export const stageRetries = counterFamily({
  name: 'magicvideo_stage_retries_total',
  help: 'Stage attempts that failed transiently and were handed back for a retry.',
  labelNames: ['stage'],
});

export const stageStalls = counterFamily({
  name: 'magicvideo_stage_stalls_total',
  help: "Jobs BullMQ's stalled check found without a live lock (a worker died or blocked) and moved back to wait.",
  labelNames: ['stage'],
});

export const workerBusyJobs = gaugeFamily({
  name: 'magicvideo_worker_busy_jobs',
  help: 'Stage jobs this worker is running now.',
  labelNames: ['stage'],
});

export const workerConcurrency = gaugeFamily({
  name: 'magicvideo_worker_concurrency',
  help: 'Stage jobs this worker may run at once (WORKER_CONCURRENCY).',
  labelNames: ['stage'],
});

export const workerBusySeconds = counterFamily({
  name: 'magicvideo_worker_busy_seconds_total',
  help: 'Seconds spent running stage jobs, summed over concurrent jobs; rate() / concurrency is utilisation.',
  labelNames: ['stage'],
});

/** The series of a stage worker exist from its start, at zero, so dashboards show idle workers. */
export function initialiseStageMetrics(stage: StageName, concurrency: number): void {
  workerConcurrency.labels({ stage }).set(concurrency);
  workerBusyJobs.labels({ stage }).set(0);
  workerBusySeconds.labels({ stage }).inc(0);
  stageRetries.labels({ stage }).inc(0);
  stageStalls.labels({ stage }).inc(0);
  for (const outcome of STAGE_OUTCOMES) stageDurationSeconds.zero({ stage, outcome });
  stageQueueWaitSeconds.zero({ stage });
  if (DENOISING_STAGES.includes(stage)) denoisingStepSeconds.zero({ stage });
}

/** One stage job's time in this worker: busy gauge up, and on `end` the busy seconds. */
export function startBusyJob(stage: StageName): { end(): void } {
  const startedAt = performance.now();
  workerBusyJobs.labels({ stage }).inc();
  let ended = false;
  return {
    end: () => {
      if (ended) return;
      ended = true;
      workerBusyJobs.labels({ stage }).dec();
      workerBusySeconds.labels({ stage }).inc((performance.now() - startedAt) / 1000);
    },
  };
}

/**
 * Times the units of a stage's work from its progress reports: each report after the first closes
 * the interval since the previous one, split evenly when reports were skipped. The first interval
 * also holds the stage's set-up (reading inputs, encoding text), so it is left out.
 */
export function stepTimer(stage: StageName): (step: number) => void {
  let previous: { step: number; at: number } | undefined;
  return (step) => {
    const at = performance.now();
    if (previous !== undefined && step > previous.step) denoisingStepSeconds.labels({ stage }).observe((at - previous.at) / 1000 / (step - previous.step));
    previous = { step, at };
  };
}
