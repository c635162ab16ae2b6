import type { ArtifactName } from '../contracts/artifact-keys';
import type { StageName } from '../contracts/queue-names';
import type { VideoEvent } from './video-events';
import {
  type EndReason,
  isTerminalStatus,
  overallProgress,
  RETRYABLE_STATUSES,
  type StageRecord,
  type VideoError,
  type VideoRecord,
  type VideoRun,
  type VideoStatus,
} from './video-record';

/**
 * The changes a video's record goes through, as pure functions: the store applies them inside
 * its atomic read-modify-write, so each one sees the latest record. Each returns the new record
 * and the events that report the change, or null when nothing changes. Terminal statuses are
 * sticky: once a video has succeeded, failed or been cancelled, no late worker update (a
 * progress step in flight, a stage that finished as the cancel arrived) changes it again.
 */
export interface VideoTransitionResult {
  record: VideoRecord;
  events: VideoEvent[];
}
export type VideoTransition = (record: VideoRecord) => VideoTransitionResult | null;

/** A stage's job started (a first attempt, a retry, or a stalled job picked up again). */
export function stageStarted(record: VideoRecord, stage: StageName, attempt: number, now: Date): VideoTransitionResult | null {
  const current = record.stageRecords[stage];
  if (isTerminalStatus(record.status) || current === undefined || current.state === 'completed') return null;
  const at = now.toISOString();
  const started: StageRecord = {
    state: 'running',
    step: 0,
    totalSteps: 0,
    progress: 0,
    attempts: Math.max(current.attempts, (current.attemptsBefore ?? 0) + attempt),
    ...(current.attemptsBefore === undefined ? {} : { attemptsBefore: current.attemptsBefore }),
    startedAt: at,
    waitMs: current.queuedAt === undefined ? 0 : Math.max(0, now.getTime() - Date.parse(current.queuedAt)),
    ...(current.queuedAt === undefined ? {} : { queuedAt: current.queuedAt }),
  };
  const stageRecords = { ...record.stageRecords, [stage]: started };
  const next: VideoRecord = {
    ...record,
    status: 'running',
    stage,
    stageRecords,
    progress: overallProgress({ ...record, stageRecords }),
    startedAt: record.startedAt ?? at,
    updatedAt: at,
  };
  const events: VideoEvent[] = [];
  if (record.status !== 'running') events.push({ type: 'status', status: 'running', stage });
  events.push({ type: 'stage.started', stage, attempt: started.attempts });
  return { record: next, events };
}

/**
 * One unit of a running stage's work done. Progress never goes back within an attempt: a step
 * at or below the one recorded (a late or repeated report) changes nothing.
 */
export function stageProgressed(record: VideoRecord, stage: StageName, step: number, totalSteps: number, now: Date): VideoTransitionResult | null {
  const current = record.stageRecords[stage];
  if (isTerminalStatus(record.status) || current?.state !== 'running') return null;
  const total = Math.max(0, Math.floor(totalSteps));
  const done = Math.min(Math.max(0, Math.floor(step)), total);
  const stageProgress = total === 0 ? 0 : done / total;
  if (stageProgress < current.progress || (done <= current.step && total === current.totalSteps)) return null;
  const stageRecords = { ...record.stageRecords, [stage]: { ...current, step: done, totalSteps: total, progress: stageProgress } };
  const progress = Math.max(record.progress, overallProgress({ ...record, stageRecords }));
  return {
    record: { ...record, stageRecords, progress, updatedAt: now.toISOString() },
    events: [{ type: 'progress', stage, step: done, totalSteps: total, stageProgress, progress }],
  };
}

/**
 * A stage wrote its outputs. The next stage's queue wait starts now; the flow's last stage
 * finishes the video.
 */
export function stageCompleted(
  record: VideoRecord,
  stage: StageName,
  outputs: Partial<Record<ArtifactName, string>>,
  now: Date,
): VideoTransitionResult | null {
  const current = record.stageRecords[stage];
  if (isTerminalStatus(record.status) || current === undefined || current.state === 'completed') return null;
  const at = now.toISOString();
  const startedAt = current.startedAt ?? at;
  const completed: StageRecord = {
    ...current,
    state: 'completed',
    step: current.totalSteps,
    progress: 1,
    startedAt,
    finishedAt: at,
    waitMs: current.waitMs ?? 0,
    durationMs: Math.max(0, now.getTime() - Date.parse(startedAt)),
  };
  const stageRecords: VideoRecord['stageRecords'] = { ...record.stageRecords, [stage]: completed };
  const index = record.stages.indexOf(stage);
  const nextStage = record.stages[index + 1];
  const nextRecord = nextStage === undefined ? undefined : stageRecords[nextStage];
  if (nextStage !== undefined && nextRecord !== undefined) stageRecords[nextStage] = { ...nextRecord, queuedAt: at };
  const last = nextStage === undefined;
  const next: VideoRecord = {
    ...record,
    stage,
    stageRecords,
    outputs: { ...record.outputs, ...outputs },
    progress: last ? 1 : Math.max(record.progress, overallProgress({ ...record, stageRecords })),
    updatedAt: at,
    ...(last ? { status: 'succeeded' as const, finishedAt: at, runs: endRun(record, { status: 'succeeded' }, at) } : {}),
  };
  const events: VideoEvent[] = [{ type: 'stage.completed', stage, durationMs: completed.durationMs ?? 0, waitMs: completed.waitMs ?? 0 }];
  if (last) events.push({ type: 'status', status: 'succeeded', stage });
  return { record: next, events };
}

/** A stage attempt failed transiently; BullMQ runs it again after a backoff, so it stays running. */
export function stageRetrying(record: VideoRecord, stage: StageName, attempt: number, error: VideoError, now: Date): VideoTransitionResult | null {
  const current = record.stageRecords[stage];
  if (isTerminalStatus(record.status) || current === undefined || current.state === 'completed') return null;
  return {
    record: { ...record, updatedAt: now.toISOString() },
    events: [{ type: 'stage.retrying', stage, attempt, error: { ...error, stage: error.stage ?? stage } }],
  };
}

/** The video failed for good (a non-retryable error, or a stage out of attempts). */
export function videoFailed(record: VideoRecord, error: VideoError, now: Date): VideoTransitionResult | null {
  if (isTerminalStatus(record.status)) return null;
  const at = now.toISOString();
  const stage = error.stage ?? record.stage;
  const stageRecords = { ...record.stageRecords };
  const failedStage = error.stage === undefined ? undefined : stageRecords[error.stage];
  if (error.stage !== undefined && failedStage !== undefined) {
    stageRecords[error.stage] = { ...failedStage, state: 'failed', finishedAt: at, ...durationSince(failedStage, now) };
  }
  return {
    record: { ...record, status: 'failed', stage, stageRecords, error, finishedAt: at, updatedAt: at, runs: endRun(record, { status: 'failed', error }, at) },
    events: [{ type: 'status', status: 'failed', stage, error }],
  };
}

/**
 * The video is cancelled: every stage not yet finished is cancelled with it. `requested` when
 * its owner asked; `deadline` when its deadline passed while it ran.
 */
export function videoCancelled(record: VideoRecord, now: Date, reason: EndReason = 'requested'): VideoTransitionResult | null {
  if (isTerminalStatus(record.status)) return null;
  const at = now.toISOString();
  const stageRecords = { ...record.stageRecords };
  for (const stage of record.stages) {
    const current = stageRecords[stage];
    if (current?.state === 'running') stageRecords[stage] = { ...current, state: 'cancelled', finishedAt: at, ...durationSince(current, now) };
    else if (current?.state === 'pending') stageRecords[stage] = { ...current, state: 'cancelled' };
  }
  return {
    record: { ...record, status: 'cancelled', reason, stageRecords, finishedAt: at, updatedAt: at, runs: endRun(record, { status: 'cancelled', reason }, at) },
    events: [{ type: 'status', status: 'cancelled', stage: record.stage, reason }],
  };
}

/**
 * The video's deadline passed (Cancel-After, or the server's maximum): a video whose run never
 * started a stage ends `expired`, one that was running ends `cancelled`, both with reason
 * `deadline`. Null before the deadline, without one, or once the video has ended.
 */
export function deadlineReached(record: VideoRecord, now: Date): VideoTransitionResult | null {
  if (isTerminalStatus(record.status) || record.deadlineAt === undefined || now.getTime() < Date.parse(record.deadlineAt)) return null;
  if (record.status === 'running') return videoCancelled(record, now, 'deadline');
  const at = now.toISOString();
  const stageRecords = { ...record.stageRecords };
  for (const stage of record.stages) {
    const current = stageRecords[stage];
    if (current?.state === 'pending') stageRecords[stage] = { ...current, state: 'cancelled' };
  }
  return {
    record: { ...record, status: 'expired', reason: 'deadline', stageRecords, finishedAt: at, updatedAt: at, runs: endRun(record, { status: 'expired', reason: 'deadline' }, at) },
    events: [{ type: 'status', status: 'expired', stage: record.stage, reason: 'deadline' }],
  };
}

/** Where a retry starts: the first stage of the flow that has not completed, or the first when its inputs are gone. */
export function retryStartStage(record: VideoRecord): StageName | undefined {
  if (record.retention?.intermediatesExpiredAt !== undefined) return record.stages[0];
  return record.stages.find((stage) => record.stageRecords[stage]?.state !== 'completed');
}

/**
 * POST /v1/videos/{id}/retry: a failed, cancelled or expired video is queued again under the same
 * id, from its first unfinished stage (every stage from the first when the retention sweeper has
 * deleted the intermediates). The stages it runs again go back to pending, counting their
 * attempts on from the earlier runs; a new run is recorded. Null when the video cannot be retried.
 */
export function videoRetried(record: VideoRecord, now: Date, options: { deadlineAt?: Date } = {}): VideoTransitionResult | null {
  if (!RETRYABLE_STATUSES.includes(record.status) || record.retention?.expiredAt !== undefined) return null;
  const fromStage = retryStartStage(record);
  if (fromStage === undefined) return null;
  const at = now.toISOString();
  const from = record.stages.indexOf(fromStage);
  const stageRecords: VideoRecord['stageRecords'] = { ...record.stageRecords };
  const outputs = { ...record.outputs };
  for (const [index, stage] of record.stages.entries()) {
    const current = stageRecords[stage];
    if (index < from || current === undefined) continue;
    stageRecords[stage] = {
      state: 'pending',
      step: 0,
      totalSteps: 0,
      progress: 0,
      attempts: current.attempts,
      ...(current.attempts > 0 ? { attemptsBefore: current.attempts } : {}),
      ...(index === from ? { queuedAt: at } : {}),
    };
  }
  const runs = record.runs ?? [];
  const run: VideoRun = { run: (runs.at(-1)?.run ?? 1) + 1, fromStage, queuedAt: at };
  const { error: _error, reason: _reason, finishedAt: _finishedAt, deadlineAt: _deadlineAt, ...rest } = record;
  const retried: VideoRecord = {
    ...rest,
    status: 'queued',
    stage: from === 0 ? null : record.stage,
    stageRecords,
    outputs,
    progress: overallProgress({ ...record, stageRecords }),
    runs: [...(record.runs ?? [{ run: 1, fromStage: record.stages[0] ?? fromStage, queuedAt: record.createdAt }]), run],
    ...(options.deadlineAt === undefined ? {} : { deadlineAt: options.deadlineAt.toISOString() }),
    updatedAt: at,
  };
  return { record: retried, events: [{ type: 'status', status: 'queued', stage: retried.stage, run: run.run }] };
}

/** The retention sweeper deleted the video's intermediates (tensors, the init upload): their keys leave `outputs`. */
export function intermediatesExpired(record: VideoRecord, deleted: readonly ArtifactName[], now: Date): VideoTransitionResult | null {
  if (!isTerminalStatus(record.status) || record.retention?.intermediatesExpiredAt !== undefined) return null;
  const at = now.toISOString();
  const outputs = { ...record.outputs };
  for (const artifact of deleted) delete outputs[artifact];
  return { record: { ...record, outputs, retention: { ...record.retention, intermediatesExpiredAt: at }, updatedAt: at }, events: [] };
}

/** The retention sweeper deleted the video's results: from now on the API answers 410 Gone. */
export function resultsExpired(record: VideoRecord, now: Date): VideoTransitionResult | null {
  if (!isTerminalStatus(record.status) || record.retention?.expiredAt !== undefined) return null;
  const at = now.toISOString();
  return {
    record: { ...record, outputs: {}, retention: { intermediatesExpiredAt: record.retention?.intermediatesExpiredAt ?? at, expiredAt: at }, updatedAt: at },
    events: [],
  };
}

/** The runs with the current (last) one ended; a record older than runs gets its one run here. */
function endRun(record: VideoRecord, end: { status: VideoStatus; reason?: EndReason; error?: VideoError }, at: string): VideoRun[] {
  const runs = record.runs ?? [{ run: 1, fromStage: record.stages[0] ?? 'keyframe', queuedAt: record.createdAt }];
  const last = runs.at(-1);
  if (last === undefined) return runs;
  return [...runs.slice(0, -1), { ...last, finishedAt: at, ...end }];
}

function durationSince(stage: StageRecord, now: Date): Pick<StageRecord, 'durationMs'> {
  return stage.startedAt === undefined ? {} : { durationMs: Math.max(0, now.getTime() - Date.parse(stage.startedAt)) };
}
