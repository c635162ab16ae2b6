import { z } from 'zod';
import { ARTIFACT_FILES, type ArtifactName } from '../contracts/artifact-keys';
import { STAGE_NAMES, type StageName } from '../contracts/queue-names';
import { resolvedGenerationRequestSchema } from './stage-job';

/**
 * The public record of one video (DESIGN.md §3: what users see comes from this record, never
 * from BullMQ's flow-parent events). Redis holds it while the video is in flight; `job.json` on
 * S3 is its durable copy, written at every stage boundary and at the end.
 */

/** `expired`: the video's deadline passed before any stage started (issue 15). */
export const VIDEO_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled', 'expired'] as const;
export type VideoStatus = (typeof VIDEO_STATUSES)[number];
export const TERMINAL_STATUSES: readonly VideoStatus[] = ['succeeded', 'failed', 'cancelled', 'expired'];
export function isTerminalStatus(status: VideoStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

/** Why a video ended cancelled or expired: its owner asked, or its deadline (Cancel-After or the server's maximum) passed. */
export const END_REASONS = ['requested', 'deadline'] as const;
export type EndReason = (typeof END_REASONS)[number];

/** Statuses a video may be retried from (POST /v1/videos/{id}/retry). */
export const RETRYABLE_STATUSES: readonly VideoStatus[] = ['failed', 'cancelled', 'expired'];

export const STAGE_STATES = ['pending', 'running', 'completed', 'failed', 'cancelled'] as const;
export type StageStateName = (typeof STAGE_STATES)[number];

const isoTime = z.iso.datetime();

export const stageRecordSchema = z.strictObject({
  state: z.enum(STAGE_STATES),
  /** units of work done in the current attempt (denoising steps, decoded chunks) */
  step: z.int().min(0),
  totalSteps: z.int().min(0),
  /** 0..1 */
  progress: z.number().min(0).max(1),
  /** when the stage's job became runnable: the video's creation for the first stage, else the previous stage's end */
  queuedAt: isoTime.optional(),
  startedAt: isoTime.optional(),
  finishedAt: isoTime.optional(),
  /** startedAt − queuedAt of the attempt that ran: queue wait */
  waitMs: z.number().min(0).optional(),
  /** finishedAt − startedAt of the attempt that finished */
  durationMs: z.number().min(0).optional(),
  /** attempts started so far (a stalled or retried stage starts again), over every run of the video */
  attempts: z.int().min(0),
  /** attempts of the earlier runs (a retried video's stage counts on from them) */
  attemptsBefore: z.int().min(0).optional(),
});
export type StageRecord = z.infer<typeof stageRecordSchema>;

export const videoErrorSchema = z.strictObject({
  code: z.string().min(1),
  message: z.string(),
  stage: z.enum(STAGE_NAMES).optional(),
});
export type VideoError = z.infer<typeof videoErrorSchema>;

const artifactNames = Object.keys(ARTIFACT_FILES) as [ArtifactName, ...ArtifactName[]];

/** One run of the video's flow: the first, and one per retry (issue 15: each attempt is recorded). */
export const videoRunSchema = z.strictObject({
  /** 1 for the first run */
  run: z.int().min(1),
  /** the first stage this run ran (a retry starts at the first unfinished one) */
  fromStage: z.enum(STAGE_NAMES),
  queuedAt: isoTime,
  finishedAt: isoTime.optional(),
  /** the status the run ended with; absent while it runs */
  status: z.enum(VIDEO_STATUSES).optional(),
  reason: z.enum(END_REASONS).optional(),
  error: videoErrorSchema.optional(),
});
export type VideoRun = z.infer<typeof videoRunSchema>;

/** What the retention sweeper removed, and when (issue 15). */
export const videoRetentionSchema = z.strictObject({
  /** the intermediates (tensors, the init upload) were deleted: a retry starts from the first stage */
  intermediatesExpiredAt: isoTime.optional(),
  /** the results were deleted: the API answers 410 Gone */
  expiredAt: isoTime.optional(),
});
export type VideoRetention = z.infer<typeof videoRetentionSchema>;

export const videoRecordSchema = z.strictObject({
  id: z.string().min(1),
  /** the API key's id (never the key) that owns the video */
  owner: z.string().min(1),
  status: z.enum(VIDEO_STATUSES),
  /** the stage running now, or the last one that ran; null before the first starts */
  stage: z.enum(STAGE_NAMES).nullable(),
  /** the flow's stages, in order (a request without interpolation or SR has fewer) */
  stages: z.array(z.enum(STAGE_NAMES)).min(1),
  stageRecords: z.partialRecord(z.enum(STAGE_NAMES), stageRecordSchema),
  /** 0..1 over the whole flow, each stage weighted by its expected cost (stageWeights) */
  progress: z.number().min(0).max(1),
  /** each stage's share of the whole flow's expected cost, summing to 1; absent: equal shares */
  stageWeights: z.partialRecord(z.enum(STAGE_NAMES), z.number().min(0).max(1)).optional(),
  /** higher runs sooner in every stage's queue (issue 15); absent: 0 */
  priority: z.int().optional(),
  /** the video must have finished by then: else it ends cancelled (running) or expired (never started) */
  deadlineAt: isoTime.optional(),
  /** why a cancelled or expired video ended */
  reason: z.enum(END_REASONS).optional(),
  /** each run of the flow, oldest first; absent in records older than issue 15 (one run) */
  runs: z.array(videoRunSchema).optional(),
  retention: videoRetentionSchema.optional(),
  /** the resolved request (every default filled in, the seed included): what request.json holds */
  request: resolvedGenerationRequestSchema,
  /** S3 keys of the artifacts written so far */
  outputs: z.partialRecord(z.enum(artifactNames), z.string()),
  error: videoErrorSchema.optional(),
  webhookUrl: z.string().optional(),
  /** the number of the last event appended to the video's event stream (webhooks order by it) */
  sequence: z.int().min(0),
  createdAt: isoTime,
  updatedAt: isoTime,
  startedAt: isoTime.optional(),
  finishedAt: isoTime.optional(),
});
export type VideoRecord = z.infer<typeof videoRecordSchema>;

/** Overall progress: each stage's progress weighted by its share of the expected cost (equal shares when unknown). */
export function overallProgress(record: Pick<VideoRecord, 'stages' | 'stageRecords' | 'stageWeights'>): number {
  const weights = record.stages.map((stage) => record.stageWeights?.[stage] ?? 1);
  const totalWeight = weights.reduce((sum, weight) => sum + weight, 0);
  if (totalWeight <= 0) return 0;
  const done = record.stages.reduce((sum, stage, index) => sum + (weights[index] ?? 0) * (record.stageRecords[stage]?.progress ?? 0), 0);
  return Math.min(1, done / totalWeight);
}

/** A fresh record for a video whose flow was just accepted. */
export function newVideoRecord(input: {
  id: string;
  owner: string;
  stages: readonly StageName[];
  request: VideoRecord['request'];
  webhookUrl?: string;
  priority?: number;
  deadlineAt?: Date;
  stageWeights?: VideoRecord['stageWeights'];
  now?: Date;
}): VideoRecord {
  const now = (input.now ?? new Date()).toISOString();
  const stageRecords: VideoRecord['stageRecords'] = {};
  for (const [index, stage] of input.stages.entries()) {
    stageRecords[stage] = { state: 'pending', step: 0, totalSteps: 0, progress: 0, attempts: 0, ...(index === 0 ? { queuedAt: now } : {}) };
  }
  return {
    id: input.id,
    owner: input.owner,
    status: 'queued',
    stage: null,
    stages: [...input.stages],
    stageRecords,
    progress: 0,
    ...(input.stageWeights === undefined ? {} : { stageWeights: input.stageWeights }),
    priority: input.priority ?? 0,
    ...(input.deadlineAt === undefined ? {} : { deadlineAt: input.deadlineAt.toISOString() }),
    runs: [{ run: 1, fromStage: input.stages[0] ?? 'keyframe', queuedAt: now }],
    request: input.request,
    outputs: {},
    ...(input.webhookUrl === undefined ? {} : { webhookUrl: input.webhookUrl }),
    sequence: 0,
    createdAt: now,
    updatedAt: now,
  };
}
