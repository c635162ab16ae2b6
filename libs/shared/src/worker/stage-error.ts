import { UnrecoverableError } from 'bullmq';

/**
 * Codes of stage failures that retrying cannot fix (DESIGN.md §3: a bad input or a model error
 * fails the job at once). Transient failures (storage, Redis) are thrown as ordinary errors and
 * retried with backoff.
 */
export const STAGE_ERROR_CODES = ['StageNotImplemented', 'InvalidStageInput', 'ModelContractViolation', 'StageCancelled'] as const;
export type StageErrorCode = (typeof STAGE_ERROR_CODES)[number];

/**
 * A non-retryable stage failure. BullMQ moves the job straight to failed (it is an
 * UnrecoverableError) and stores the message, which starts with the code: `failedReason`
 * reads `StageNotImplemented: …`.
 */
export class StageError extends UnrecoverableError {
  constructor(
    readonly code: StageErrorCode,
    detail: string,
  ) {
    super(`${code}: ${detail}`);
  }
}
