import { z } from 'zod';
import { ARTIFACT_FILES, type ArtifactName } from '../contracts/artifact-keys';
import { STAGE_NAMES, type StageName } from '../contracts/queue-names';
import { resolvedGenerationRequestSchema } from './stage-job';

/**
 * The public record of one video (DESIGN.md §3: what users see comes from this record, never
 * from BullMQ's flow-parent events). Redis holds it while the video is in flight; `job.json` on
 * S3 is its durable copy, written at every stage boundary and at the end.
 */

export const VIDEO_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type VideoStatus = (typeof VIDEO_STATUSES)[number];
export const TERMINAL_STATUSES: readonly VideoStatus[] = ['succeeded', 'failed', 'cancelled'];
export function isTerminalStatus(status: VideoStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

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
  /** attempts started so far (a stalled or retried stage starts again) */
  attempts: z.int().min(0),
});
export type StageRecord = z.infer<typeof stageRecordSchema>;

export const videoErrorSchema = z.strictObject({
  code: z.string().min(1),
  message: z.string(),
  stage: z.enum(STAGE_NAMES).optional(),
});
export type VideoError = z.infer<typeof videoErrorSchema>;

const artifactNames = Object.keys(ARTIFACT_FILES) as [ArtifactName, ...ArtifactName[]];

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
  /** 0..1 over the whole flow, every stage weighted equally */
  progress: z.number().min(0).max(1),
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

/** Overall progress: every stage of the flow weighs the same. */
export function overallProgress(record: Pick<VideoRecord, 'stages' | 'stageRecords'>): number {
  const total = record.stages.reduce((sum, stage) => sum + (record.stageRecords[stage]?.progress ?? 0), 0);
  return total / record.stages.length;
}

/** A fresh record for a video whose flow was just accepted. */
export function newVideoRecord(input: {
  id: string;
  owner: string;
  stages: readonly StageName[];
  request: VideoRecord['request'];
  webhookUrl?: string;
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
    request: input.request,
    outputs: {},
    ...(input.webhookUrl === undefined ? {} : { webhookUrl: input.webhookUrl }),
    sequence: 0,
    createdAt: now,
    updatedAt: now,
  };
}
