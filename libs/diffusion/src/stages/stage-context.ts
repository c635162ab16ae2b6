/** The stages' names, as progress reports and job records say them. */
export type StageName = 'text' | 'keyframes' | 'interp' | 'decode' | 'sr' | 'encode';

/** One unit of a stage's work done: a denoising step, a decoded chunk. `step` counts from 1. */
export interface StageProgress {
  stage: StageName;
  step: number;
  totalSteps: number;
}

/** What a caller (a worker, the CLI) hands every stage function. */
export interface StageContext {
  /** Called after each step; a worker turns it into `job.updateProgress`. */
  onProgress?: (progress: StageProgress) => void;
  /** Aborted on cancel; checked between steps, which then throw StageCancelled. */
  signal?: AbortSignal;
}
