import { UnrecoverableError } from 'bullmq';
import { isTransientStorageError } from '../storage/artifact-store';
import { StageError, type StageErrorCode } from './stage-error';
import { isTransientRedisError } from './transient-redis-error';

/**
 * How a failed stage attempt ends (DESIGN.md §3, "Retries"):
 * - `cancelled`: the video was cancelled; nothing to record, the record already says so;
 * - `permanent`: a bad input or a model error; the video fails at once with the error's code;
 * - `transient`: storage or Redis; the stage runs again after a backoff while attempts remain;
 * - `bug`: anything else; the video fails at once with `InternalError`.
 */
export type StageFailure =
  | { kind: 'cancelled'; message: string }
  | { kind: 'permanent' | 'transient' | 'bug'; code: StageErrorCode; message: string };

/** Error codes (own or from libs/diffusion) that mean the input or the model is wrong: retrying cannot help. */
const PERMANENT_CODES: ReadonlySet<string> = new Set<StageErrorCode>([
  'InvalidStageInput',
  'ModelContractViolation',
  'InvalidRequest',
  'InitFramesMismatch',
  'ArtifactNotFound',
  'InvalidSafetensors',
  'ModelUnavailable',
]);

function codeOf(error: unknown): string | undefined {
  const code = error instanceof Error ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** `Code: detail` → detail, so a code is never printed twice in a failure message. */
function withoutCodePrefix(message: string, code: string): string {
  return message.startsWith(`${code}: `) ? message.slice(code.length + 2) : message;
}

export function classifyStageFailure(error: unknown, signal: AbortSignal): StageFailure {
  const code = codeOf(error);
  if (signal.aborted || code === 'StageCancelled') return { kind: 'cancelled', message: messageOf(error) };
  if (error instanceof StageError) return { kind: 'permanent', code: error.code, message: error.detail };
  if (code !== undefined && PERMANENT_CODES.has(code)) {
    return { kind: 'permanent', code: code as StageErrorCode, message: withoutCodePrefix(messageOf(error), code) };
  }
  if (isTransientStorageError(error)) return { kind: 'transient', code: 'StorageUnavailable', message: messageOf(error) };
  if (isTransientRedisError(error) || code === 'VideoUpdateConflict') {
    return { kind: 'transient', code: 'RedisUnavailable', message: messageOf(error) };
  }
  // Someone chose to make it unrecoverable: respect that, and say it was not one of ours.
  if (error instanceof UnrecoverableError) return { kind: 'permanent', code: 'InternalError', message: messageOf(error) };
  return { kind: 'bug', code: 'InternalError', message: messageOf(error) };
}
