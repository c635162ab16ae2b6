import type { ArtifactName } from '../contracts/artifact-keys';
import type { StageName } from '../contracts/queue-names';
import type { VideoEvent } from './video-events';
import { isTerminalStatus, overallProgress, type StageRecord, type VideoError, type VideoRecord } from './video-record';

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
    attempts: Math.max(current.attempts, attempt),
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
    progress: overallProgress({ stages: record.stages, stageRecords }),
    startedAt: record.startedAt ?? at,
    updatedAt: at,
  };
  const events: VideoEvent[] = [];
  if (record.status !== 'running') events.push({ type: 'status', status: 'running', stage });
  events.push({ type: 'stage.started', stage, attempt });
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
  const progress = Math.max(record.progress, overallProgress({ stages: record.stages, stageRecords }));
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
    progress: last ? 1 : Math.max(record.progress, overallProgress({ stages: record.stages, stageRecords })),
    updatedAt: at,
    ...(last ? { status: 'succeeded' as const, finishedAt: at } : {}),
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
    record: { ...record, status: 'failed', stage, stageRecords, error, finishedAt: at, updatedAt: at },
    events: [{ type: 'status', status: 'failed', stage, error }],
  };
}

/** The owner cancelled the video: every stage not yet finished is cancelled with it. */
export function videoCancelled(record: VideoRecord, now: Date): VideoTransitionResult | null {
  if (isTerminalStatus(record.status)) return null;
  const at = now.toISOString();
  const stageRecords = { ...record.stageRecords };
  for (const stage of record.stages) {
    const current = stageRecords[stage];
    if (current?.state === 'running') stageRecords[stage] = { ...current, state: 'cancelled', finishedAt: at, ...durationSince(current, now) };
    else if (current?.state === 'pending') stageRecords[stage] = { ...current, state: 'cancelled' };
  }
  return {
    record: { ...record, status: 'cancelled', stageRecords, finishedAt: at, updatedAt: at },
    events: [{ type: 'status', status: 'cancelled', stage: record.stage }],
  };
}

function durationSince(stage: StageRecord, now: Date): Pick<StageRecord, 'durationMs'> {
  return stage.startedAt === undefined ? {} : { durationMs: Math.max(0, now.getTime() - Date.parse(stage.startedAt)) };
}
