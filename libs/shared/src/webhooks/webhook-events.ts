import { z } from 'zod';
import { VIDEO_FORMATS } from '../contracts/generation-request';
import { STAGE_NAMES } from '../contracts/queue-names';
import type { StoredVideoEvent, VideoEvent } from '../jobs/video-events';
import { END_REASONS, type VideoStatus } from '../jobs/video-record';

/**
 * The webhook events (issue 6) and their payloads, in the Standard Webhooks shape
 * `{ type, timestamp, data }`. Defined once here: the delivery worker builds payloads with these
 * schemas, the OpenAPI document's `webhooks` section and docs/webhooks.md describe them.
 */

export const WEBHOOK_EVENT_TYPES = [
  'video.queued',
  'video.started',
  'video.progress',
  'video.stage.completed',
  'video.succeeded',
  'video.failed',
  'video.cancelled',
  'video.expired',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];
export const webhookEventTypeSchema = z.enum(WEBHOOK_EVENT_TYPES);

const WEBHOOK_TYPE_BY_STATUS: Record<VideoStatus, WebhookEventType> = {
  queued: 'video.queued',
  running: 'video.started',
  succeeded: 'video.succeeded',
  failed: 'video.failed',
  cancelled: 'video.cancelled',
  expired: 'video.expired',
};

/** The stored event a webhook reports, or undefined for events no webhook carries (stage.started, stage.retrying). */
export function webhookEventTypeOf(event: VideoEvent): WebhookEventType | undefined {
  switch (event.type) {
    case 'status':
      return WEBHOOK_TYPE_BY_STATUS[event.status];
    case 'stage.completed':
      return 'video.stage.completed';
    case 'progress':
      return 'video.progress';
    default:
      return undefined;
  }
}

/** A delivery's id, the `webhook-id` header: the same on every attempt, so receivers can de-duplicate. */
export function webhookDeliveryId(videoId: string, sequence: number): string {
  return `${videoId}.${sequence}`;
}

const isoTime = z.iso.datetime();
const stage = z.enum(STAGE_NAMES);
const base = { video_id: z.string(), sequence: z.int().min(1).meta({ description: 'the video’s event number: order events by it' }) };
const envelope = <Type extends WebhookEventType, Data extends z.ZodRawShape>(type: Type, data: Data, description: string) =>
  z
    .strictObject({
      type: z.literal(type),
      timestamp: isoTime.meta({ description: 'when the event happened' }),
      data: z.strictObject({ ...base, ...data }),
    })
    .meta({ description });

/** The OpenAPI component id of an event type's payload, e.g. `WebhookVideoStageCompleted`. */
export function webhookPayloadSchemaId(type: WebhookEventType): string {
  return `Webhook${type.split('.').map((part) => part.charAt(0).toUpperCase() + part.slice(1)).join('')}`;
}

const endReason = z.enum(END_REASONS);
const resultVideo = z.strictObject({ format: z.enum(VIDEO_FORMATS), url: z.string(), expires_at: isoTime });

export const webhookPayloadSchemas = {
  'video.queued': envelope(
    'video.queued',
    { run: z.int().min(2).optional().meta({ description: 'set when a retry queued the video again: the run it starts (2 for the first retry)' }) },
    'the video was accepted (or retried) and waits for its first stage',
  ),
  'video.started': envelope('video.started', { stage }, 'the first stage started'),
  'video.progress': envelope(
    'video.progress',
    { stage, progress: z.number().min(0).max(1), stage_progress: z.number().min(0).max(1) },
    'progress, at most one per configured interval per video',
  ),
  'video.stage.completed': envelope(
    'video.stage.completed',
    { stage, duration_ms: z.number().min(0), wait_ms: z.number().min(0) },
    'a stage finished: its run time and its queue wait',
  ),
  'video.succeeded': envelope(
    'video.succeeded',
    { videos: z.array(resultVideo).meta({ description: 'presigned when the delivery was made' }) },
    'the video is ready',
  ),
  'video.failed': envelope(
    'video.failed',
    { error: z.strictObject({ code: z.string(), message: z.string(), stage: stage.optional() }) },
    'the video failed',
  ),
  'video.cancelled': envelope(
    'video.cancelled',
    { reason: endReason.optional() },
    'the video was cancelled: by its owner (`requested`) or because its deadline passed while it ran (`deadline`)',
  ),
  'video.expired': envelope('video.expired', { reason: endReason }, 'the video’s deadline passed before any stage started'),
} as const;

export const webhookPayloadSchema = z.discriminatedUnion('type', [
  webhookPayloadSchemas['video.queued'],
  webhookPayloadSchemas['video.started'],
  webhookPayloadSchemas['video.progress'],
  webhookPayloadSchemas['video.stage.completed'],
  webhookPayloadSchemas['video.succeeded'],
  webhookPayloadSchemas['video.failed'],
  webhookPayloadSchemas['video.cancelled'],
  webhookPayloadSchemas['video.expired'],
]);
export type WebhookPayload = z.infer<typeof webhookPayloadSchema>;

/** The payload of a stored event; `videos` are the presigned results (only video.succeeded carries them). */
export function webhookPayloadOf(stored: Pick<StoredVideoEvent, 'videoId' | 'sequence' | 'at' | 'event'>, videos: WebhookResultVideo[] = []): WebhookPayload {
  const type = webhookEventTypeOf(stored.event);
  if (type === undefined) throw new RangeError(`event ${stored.event.type} is not delivered by webhooks`);
  const data = { video_id: stored.videoId, sequence: stored.sequence };
  const event = stored.event;
  const payload = (() => {
    switch (event.type) {
      case 'stage.completed':
        return { type, data: { ...data, stage: event.stage, duration_ms: event.durationMs, wait_ms: event.waitMs } };
      case 'progress':
        return { type, data: { ...data, stage: event.stage, progress: event.progress, stage_progress: event.stageProgress } };
      case 'status':
        if (type === 'video.started') return { type, data: { ...data, stage: event.stage } };
        if (type === 'video.succeeded') return { type, data: { ...data, videos } };
        if (type === 'video.failed') return { type, data: { ...data, error: event.error ?? { code: 'InternalError', message: 'the video failed' } } };
        if (type === 'video.queued') return { type, data: { ...data, ...(event.run === undefined ? {} : { run: event.run }) } };
        if (type === 'video.cancelled') return { type, data: { ...data, ...(event.reason === undefined ? {} : { reason: event.reason }) } };
        if (type === 'video.expired') return { type, data: { ...data, reason: event.reason ?? 'deadline' } };
        return { type, data };
      default:
        return { type, data };
    }
  })();
  return webhookPayloadSchema.parse({ ...payload, timestamp: stored.at });
}

export type WebhookResultVideo = z.infer<typeof resultVideo>;
