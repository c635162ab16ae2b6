import { z } from 'zod';
import { STAGE_NAMES } from '../contracts/queue-names';
import { END_REASONS, VIDEO_STATUSES, videoErrorSchema } from './video-record';

/**
 * The events of one video, in the order they happened: what `GET /v1/videos/{id}/events`
 * streams (SSE, resumable by `Last-Event-ID`) and what webhooks will deliver. Each event is
 * appended to the video's Redis stream in the same transaction as the record change it reports,
 * so the stream and the record never disagree; `sequence` counts a video's events from 1.
 */

const stage = z.enum(STAGE_NAMES);

export const videoEventSchema = z.discriminatedUnion('type', [
  /** the video's status changed (queued on submit and on a retry, running when its first stage starts, and the end) */
  z.strictObject({
    type: z.literal('status'),
    status: z.enum(VIDEO_STATUSES),
    stage: stage.nullable(),
    error: videoErrorSchema.optional(),
    /** why a cancelled or expired video ended */
    reason: z.enum(END_REASONS).optional(),
    /** the run a retry queued (2 for the first retry) */
    run: z.int().min(2).optional(),
  }),
  z.strictObject({ type: z.literal('stage.started'), stage, attempt: z.int().min(1) }),
  z.strictObject({ type: z.literal('stage.completed'), stage, durationMs: z.number().min(0), waitMs: z.number().min(0) }),
  /** one unit of a stage's work done (a denoising step, a decoded chunk) */
  z.strictObject({
    type: z.literal('progress'),
    stage,
    step: z.int().min(0),
    totalSteps: z.int().min(0),
    stageProgress: z.number().min(0).max(1),
    progress: z.number().min(0).max(1),
  }),
  /** a transient failure; the stage runs again after a backoff */
  z.strictObject({ type: z.literal('stage.retrying'), stage, attempt: z.int().min(1), error: videoErrorSchema }),
]);
export type VideoEvent = z.infer<typeof videoEventSchema>;
export type VideoEventType = VideoEvent['type'];

/** An event as stored: the Redis stream entry id (SSE's `id:`), its sequence number and time. */
export interface StoredVideoEvent {
  id: string;
  videoId: string;
  sequence: number;
  at: string;
  event: VideoEvent;
}
