import { UnrecoverableError } from 'bullmq';

/**
 * Codes of stage failures that retrying cannot fix (DESIGN.md §3: a bad input or a model error
 * fails the job at once), plus the codes a video fails with once a transient failure ran out of
 * attempts. Transient failures (storage, Redis) are thrown as ordinary errors and retried with
 * backoff; see stage-failure.ts for how an error is sorted.
 */
export const STAGE_ERROR_CODES = [
  /** job data or an input artifact this stage cannot use */
  'InvalidStageInput',
  /** the model folder breaks the model-folder contract */
  'ModelContractViolation',
  /** the video was cancelled (DESIGN.md §3, "Cancel") */
  'StageCancelled',
  /** the resolved request cannot run on this model folder */
  'InvalidRequest',
  'InitFramesMismatch',
  /** an input artifact is missing from the bucket */
  'ArtifactNotFound',
  /** a tensor artifact that is not valid safetensors */
  'InvalidSafetensors',
  /** the model folder lacks a model the stage needs */
  'ModelUnavailable',
  /** storage kept failing until the stage ran out of attempts */
  'StorageUnavailable',
  /** Redis kept failing until the stage ran out of attempts */
  'RedisUnavailable',
  /** each attempt outlasted the stage's timeout (STAGE_TIMEOUT_MS): a hung worker */
  'StageTimeout',
  /** anything else: a bug, reported as such */
  'InternalError',
] as const;
export type StageErrorCode = (typeof STAGE_ERROR_CODES)[number];

/**
 * A non-retryable stage failure. BullMQ moves the job straight to failed (it is an
 * UnrecoverableError) and stores the message, which starts with the code: `failedReason`
 * reads `InvalidStageInput: …`.
 */
export class StageError extends UnrecoverableError {
  constructor(
    readonly code: StageErrorCode,
    readonly detail: string,
  ) {
    super(`${code}: ${detail}`);
    this.name = 'StageError';
  }
}
