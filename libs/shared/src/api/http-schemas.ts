import { z } from 'zod';
import { generationRequestSchema, VIDEO_FORMATS } from '../contracts/generation-request';
import { STAGE_NAMES } from '../contracts/queue-names';
import { SAMPLER_NAMES } from '../model-folder/manifest';
import { PRIORITY_LIMITS } from '../jobs/stage-job';
import { END_REASONS, STAGE_STATES, VIDEO_STATUSES } from '../jobs/video-record';
import { WEBHOOK_EVENT_TYPES, webhookEventTypeSchema, webhookPayloadSchemaId, webhookPayloadSchemas } from '../webhooks/webhook-events';

/**
 * The HTTP API's requests and answers (DESIGN.md §8), snake_case over the wire. Each schema is
 * defined once here: the API validates with it at the edge and the OpenAPI document at /docs is
 * generated from it (openapi-document.ts), so the two cannot disagree. The rules of each request
 * field are generationRequestSchema's (contracts/generation-request.ts): only the names differ.
 */

const request = generationRequestSchema.shape;

/** The named schemas of the HTTP API: the OpenAPI document's `components.schemas`. */
export const httpSchemas = z.registry<{ id: string; description?: string }>();

/** HTTP field → GenerationRequest field; the inverse names the offending field of an error. */
export const HTTP_REQUEST_FIELDS = {
  prompt: 'prompt',
  negative_prompt: 'negativePrompt',
  seed: 'seed',
  num_inference_steps: 'steps',
  guidance_scale: 'guidanceScale',
  fps: 'fps',
  sampler: 'sampler',
  interpolate: 'interpolate',
  super_resolution: 'superResolution',
  interp_num_inference_steps: 'interpSteps',
  sr_num_inference_steps: 'srSteps',
  output_formats: 'formats',
  init: 'init',
} as const satisfies Record<string, keyof typeof request>;

export const createVideoRequestSchema = z
  .strictObject({
    prompt: request.prompt.meta({ description: 'what the video shows', examples: ['a red circle moving right'] }),
    negative_prompt: request.negativePrompt.meta({ description: 'what classifier-free guidance steers away from' }),
    seed: request.seed.meta({ description: 'noise seed; a random one is drawn and returned when absent' }),
    num_inference_steps: request.steps.meta({ description: 'key-frame denoising steps (default: the model’s)' }),
    guidance_scale: request.guidanceScale.meta({ description: 'classifier-free guidance scale (default: the model’s)' }),
    fps: request.fps.meta({ description: 'FPS condition of the key frames; must lie in the model’s trained range' }),
    sampler: request.sampler.meta({ description: 'the key-frame sampler' }),
    interpolate: request.interpolate.meta({ description: 'run frame interpolation (default: when the model has it)' }),
    super_resolution: request.superResolution.meta({ description: 'run super-resolution (default: when the model has it)' }),
    interp_num_inference_steps: request.interpSteps.meta({ description: 'interpolation denoising steps' }),
    sr_num_inference_steps: request.srSteps.meta({ description: 'super-resolution denoising steps' }),
    output_formats: request.formats.meta({ description: 'video files to encode (default ["mp4"])' }),
    webhook_url: z
      .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
      .max(2048, 'must be at most 2048 characters')
      .optional()
      .meta({ description: 'where the video’s events are delivered (Standard Webhooks; see docs/webhooks.md); default: the API key’s' }),
    webhook_events: z
      .array(webhookEventTypeSchema)
      .min(1, 'must name at least one event type')
      .optional()
      .meta({ description: 'only these event types are delivered (default: all, or the API key’s filter)' }),
    init: request.init.meta({
      description:
        'image-to-video, variation or editing: the uploaded init image or video (multipart part `init`) is noised to `strength`',
    }),
    priority: z
      .int()
      .min(PRIORITY_LIMITS.min)
      .max(PRIORITY_LIMITS.max)
      .optional()
      .meta({
        description:
          'higher runs sooner, in every stage’s queue (default 0); each API key may ask for at most its configured maximum (400 InvalidPriority above it)',
        examples: [5],
      }),
  })
  .register(httpSchemas, { id: 'CreateVideoRequest', description: 'POST /v1/videos as JSON, or the `request` part of a multipart/form-data body' });
export type CreateVideoRequest = z.infer<typeof createVideoRequestSchema>;

const isoTime = z.iso.datetime();
const stage = z.enum(STAGE_NAMES);
const videoStatus = z.enum(VIDEO_STATUSES);

const videoLinksSchema = z.strictObject({
  self: z.string(),
  events: z.string(),
  cancel: z.string(),
  retry: z.string(),
});
const endReason = z.enum(END_REASONS);

export const videoAcceptedSchema = z
  .strictObject({
    id: z.string(),
    status: videoStatus,
    seed: z.int(),
    created_at: isoTime,
    links: videoLinksSchema,
  })
  .register(httpSchemas, { id: 'VideoAccepted', description: 'the answer to POST /v1/videos (202); Location names the video' });
export type VideoAccepted = z.infer<typeof videoAcceptedSchema>;

/** The request as the pipeline runs it: every default filled in, the seed included. */
export const resolvedRequestHttpSchema = z
  .strictObject({
    prompt: z.string(),
    negative_prompt: z.string(),
    seed: z.int(),
    num_inference_steps: z.int(),
    guidance_scale: z.number(),
    fps: z.number(),
    sampler: z.enum(SAMPLER_NAMES),
    interpolate: z.boolean(),
    super_resolution: z.boolean(),
    interp_num_inference_steps: z.int(),
    sr_num_inference_steps: z.int(),
    sr_noise_level: z.number(),
    output_formats: z.array(z.enum(VIDEO_FORMATS)),
    init: z.strictObject({ source: z.enum(['image', 'video']), strength: z.number() }).optional(),
  })
  .register(httpSchemas, { id: 'ResolvedRequest' });
export type ResolvedRequestHttp = z.infer<typeof resolvedRequestHttpSchema>;

export const stageSummarySchema = z
  .strictObject({
    state: z.enum(STAGE_STATES),
    /** 0..1 within the stage */
    progress: z.number().min(0).max(1),
    step: z.int().min(0),
    total_steps: z.int().min(0),
    queued_at: isoTime.nullable(),
    started_at: isoTime.nullable(),
    finished_at: isoTime.nullable(),
    wait_ms: z.number().nullable().meta({ description: 'queue wait: started_at − queued_at' }),
    duration_ms: z.number().nullable().meta({ description: 'finished_at − started_at of the attempt that finished' }),
    attempts: z.int().min(0),
  })
  .register(httpSchemas, { id: 'StageSummary' });
export type StageSummary = z.infer<typeof stageSummarySchema>;

const presignedUrlSchema = z.strictObject({ url: z.string(), expires_at: isoTime });

export const videoResultSchema = z
  .strictObject({
    videos: z.array(z.strictObject({ format: z.enum(VIDEO_FORMATS), url: z.string(), expires_at: isoTime })),
    preview: presignedUrlSchema.optional().meta({ description: 'a GIF of the key frames, as soon as they are decoded' }),
  })
  .register(httpSchemas, { id: 'VideoResult', description: 'presigned download URLs; `videos` only once the video succeeded' });

export const videoErrorHttpSchema = z
  .strictObject({ code: z.string(), message: z.string(), stage: stage.optional() })
  .register(httpSchemas, { id: 'VideoError' });

export const queueStandingSchema = z
  .strictObject({
    stage: stage.meta({ description: 'the queue the video waits in: its run’s first stage' }),
    position: z.int().min(1).meta({ description: '1: the next job the stage’s workers take', examples: [3] }),
    estimated_start_at: isoTime
      .nullable()
      .meta({ description: 'from the stage’s recent durations and its workers; null while no worker serves the queue or nothing was measured yet', examples: ['2026-11-25T15:04:05.000Z'] }),
  })
  .register(httpSchemas, { id: 'QueueStanding', description: 'where a queued video waits' });
export type QueueStanding = z.infer<typeof queueStandingSchema>;

export const videoRunHttpSchema = z
  .strictObject({
    run: z.int().min(1),
    from_stage: stage.meta({ description: 'the first stage the run ran (a retry starts at the first unfinished one)' }),
    queued_at: isoTime,
    finished_at: isoTime.nullable(),
    status: videoStatus.nullable().meta({ description: 'how the run ended; null while it runs' }),
    reason: endReason.nullable(),
    error: videoErrorHttpSchema.nullable(),
  })
  .register(httpSchemas, { id: 'VideoRun', description: 'one run of the flow: the first, and one per retry' });

export const videoSchema = z
  .strictObject({
    id: z.string(),
    status: videoStatus.meta({ description: '`expired`: the deadline passed before any stage started' }),
    reason: endReason
      .nullable()
      .meta({ description: 'why a cancelled or expired video ended: `requested` (DELETE) or `deadline` (Cancel-After or the server’s maximum)', examples: ['deadline'] }),
    stage: stage.nullable().meta({ description: 'the stage running now, or the last one that ran' }),
    progress: z
      .number()
      .min(0)
      .max(1)
      .meta({ description: 'overall, each stage weighted by its expected cost (recent durations, else defaults)', examples: [0.42] }),
    queue: queueStandingSchema.nullable().meta({ description: 'while the video is queued: its place in its first stage’s queue' }),
    priority: z.int().meta({ description: 'higher runs sooner in every stage’s queue', examples: [0] }),
    deadline_at: isoTime.nullable().meta({ description: 'the video ends (cancelled or expired, reason `deadline`) if it has not finished by then', examples: ['2026-11-25T16:00:00.000Z'] }),
    expires_at: isoTime
      .nullable()
      .meta({ description: 'when retention deletes the results (then the video answers 410 Gone); null until the video ends', examples: ['2026-12-02T15:00:00.000Z'] }),
    runs: z.array(videoRunHttpSchema).meta({ description: 'every run of the flow, oldest first' }),
    stages: z.partialRecord(stage, stageSummarySchema).meta({ description: 'the flow’s stages, in order' }),
    seed: z.int(),
    request: resolvedRequestHttpSchema,
    webhook_url: z.string().nullable(),
    created_at: isoTime,
    updated_at: isoTime,
    started_at: isoTime.nullable(),
    finished_at: isoTime.nullable(),
    result: videoResultSchema.nullable(),
    error: videoErrorHttpSchema.nullable(),
    links: videoLinksSchema,
  })
  .register(httpSchemas, { id: 'Video' });
export type VideoResource = z.infer<typeof videoSchema>;

export const listVideosQuerySchema = z.strictObject({
  limit: z.coerce
    .number<string | number>()
    .int('must be a whole number')
    .min(1, 'must be between 1 and 100')
    .max(100, 'must be between 1 and 100')
    .default(20)
    .meta({ description: 'page size (1..100)' }),
  cursor: z.string().min(1).max(1024).optional().meta({ description: 'the `next_cursor` of the previous page' }),
  status: videoStatus.optional().meta({ description: 'only videos with this status' }),
});
export type ListVideosQuery = z.output<typeof listVideosQuerySchema>;

export const videoListSchema = z
  .strictObject({
    data: z.array(videoSchema).meta({ description: 'the caller’s videos, newest first' }),
    next_cursor: z.string().nullable().meta({ description: 'pass as `cursor` for the next page; null on the last' }),
  })
  .register(httpSchemas, { id: 'VideoList' });
export type VideoList = z.infer<typeof videoListSchema>;

/** What `data:` of an SSE event of GET /v1/videos/{id}/events holds (the stored event, snake_case). */
export const videoStreamEventSchema = z
  .strictObject({
    id: z.string().meta({ description: 'the stream id, also sent as the SSE `id:` (resume with Last-Event-ID)' }),
    video_id: z.string(),
    sequence: z.int().min(1),
    at: isoTime,
    event: z.discriminatedUnion('type', [
      z.strictObject({
        type: z.literal('status'),
        status: videoStatus,
        stage: stage.nullable(),
        error: videoErrorHttpSchema.optional(),
        reason: endReason.optional().meta({ description: 'why a cancelled or expired video ended' }),
        run: z.int().min(2).optional().meta({ description: 'on the `queued` of a retry: the run it starts' }),
      }),
      z.strictObject({ type: z.literal('stage.started'), stage, attempt: z.int().min(1) }),
      z.strictObject({ type: z.literal('stage.completed'), stage, duration_ms: z.number(), wait_ms: z.number() }),
      z.strictObject({
        type: z.literal('progress'),
        stage,
        step: z.int().min(0),
        total_steps: z.int().min(0),
        stage_progress: z.number().min(0).max(1),
        progress: z.number().min(0).max(1),
      }),
      z.strictObject({ type: z.literal('stage.retrying'), stage, attempt: z.int().min(1), error: videoErrorHttpSchema }),
    ]),
  })
  .register(httpSchemas, { id: 'VideoStreamEvent', description: 'one Server-Sent Event; the SSE `event:` is `event.type`' });
export type VideoStreamEvent = z.infer<typeof videoStreamEventSchema>;

/** `data:` of the SSE `queue` event: sent while the video waits, whenever its place changes (no `id:`, it is not stored). */
export const videoQueueEventSchema = z
  .strictObject({ video_id: z.string(), at: isoTime, queue: queueStandingSchema })
  .register(httpSchemas, { id: 'VideoQueueEvent', description: 'the SSE `queue` event: the queued video’s place, each time it changes' });
export type VideoQueueEvent = z.infer<typeof videoQueueEventSchema>;

// The webhook payloads (POSTed to the receiver): the OpenAPI document's `webhooks` section refers to them.
for (const type of WEBHOOK_EVENT_TYPES) webhookPayloadSchemas[type].register(httpSchemas, { id: webhookPayloadSchemaId(type) });

export const webhookAttemptHttpSchema = z
  .strictObject({
    delivery_id: z.string().meta({ description: 'the webhook-id header: the same on every attempt of a delivery' }),
    type: webhookEventTypeSchema,
    attempt: z.int().min(1),
    at: isoTime,
    status_code: z.int().nullable().meta({ description: 'the receiver’s answer; null when none came' }),
    latency_ms: z.number().min(0),
    outcome: z.enum(['success', 'retry', 'failed', 'gone']),
    error: z.string().nullable(),
  })
  .register(httpSchemas, { id: 'WebhookAttempt' });

export const webhookAttemptListSchema = z
  .strictObject({
    data: z.array(webhookAttemptHttpSchema).meta({ description: 'every delivery attempt of the video’s webhooks, oldest first' }),
  })
  .register(httpSchemas, { id: 'WebhookAttemptList' });
export type WebhookAttemptList = z.infer<typeof webhookAttemptListSchema>;

export const webhookRetryAcceptedSchema = z
  .strictObject({ delivery_id: z.string(), status: z.literal('queued') })
  .register(httpSchemas, { id: 'WebhookRetryAccepted' });
export type WebhookRetryAccepted = z.infer<typeof webhookRetryAcceptedSchema>;

export const errorEnvelopeSchema = z
  .strictObject({
    error: z.strictObject({
      code: z.string().meta({ description: 'machine-readable, e.g. InvalidRequest, VideoNotFound, RateLimited' }),
      message: z.string(),
      field: z.string().optional().meta({ description: 'the offending field (snake_case, dotted path)' }),
      fields: z.array(z.strictObject({ field: z.string(), message: z.string() })).optional(),
      expired_at: isoTime.optional().meta({ description: '410 VideoExpired: when retention deleted the results' }),
    }),
  })
  .register(httpSchemas, { id: 'Error', description: 'every 4xx and 5xx answer' });
export type ErrorEnvelope = z.infer<typeof errorEnvelopeSchema>;
