import { z } from 'zod';
import { WEBHOOK_EVENT_TYPES, webhookPayloadSchemaId } from '../webhooks/webhook-events';
import { httpSchemas, listVideosQuerySchema } from './http-schemas';

/**
 * The OpenAPI 3.1 document of the HTTP API, built from the same zod schemas the API validates
 * with (http-schemas.ts). OpenAPI 3.1's schema dialect is JSON Schema 2020-12, zod's default
 * target, so the component schemas are zod's output as they are.
 */

const ref = (id: string) => ({ $ref: `#/components/schemas/${id}` });
const json = (id: string) => ({ 'application/json': { schema: ref(id) } });
const errorAnswer = (description: string) => ({ description, content: json('Error') });

/** Answers every authenticated route may give, besides its own. */
const commonErrors = {
  '401': errorAnswer('Unauthenticated: no API key, or an unknown one'),
  '500': errorAnswer('InternalError'),
};

const rateLimitHeaders = {
  'RateLimit-Limit': { description: 'requests allowed per minute', schema: { type: 'integer' } },
  'RateLimit-Remaining': { description: 'requests left in the burst', schema: { type: 'integer' } },
  'RateLimit-Reset': { description: 'seconds until the burst is full again', schema: { type: 'integer' } },
};

const cancelAfterHeader = {
  name: 'Cancel-After',
  in: 'header',
  required: false,
  description:
    'a deadline, as a duration from now (`30s`, `500ms`, `5m`, `1h`, or bare seconds), at most the server’s MAX_DEADLINE_SECONDS (the deadline of a video without one): ' +
    'a video not finished by then ends `cancelled` (reason `deadline`) if it was running, `expired` if it never started',
  schema: { type: 'string', examples: ['2s', '10m'] },
  examples: { minutes: { value: '10m' } },
};

const videoIdParameter = {
  name: 'id',
  in: 'path',
  required: true,
  description: 'the video id returned by POST /v1/videos',
  schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,128}$' },
};

/** The query parameters of GET /v1/videos, from the one schema the API parses them with. */
function listQueryParameters(): object[] {
  return Object.entries(listVideosQuerySchema.shape).map(([name, schema]) => {
    const { $schema: _dialect, description, ...parameterSchema } = z.toJSONSchema(schema, { io: 'input' }) as Record<string, unknown>;
    return { name, in: 'query', required: false, description, schema: parameterSchema };
  });
}

function componentSchemas(): Record<string, unknown> {
  const { schemas } = z.toJSONSchema(httpSchemas, { uri: (id) => `#/components/schemas/${id}`, io: 'output' });
  return Object.fromEntries(
    Object.entries(schemas).map(([id, schema]) => {
      const { $schema: _dialect, $id: _id, ...rest } = schema as Record<string, unknown>;
      return [id, rest];
    }),
  );
}

const webhookHeader = (name: string, description: string) => ({ name, in: 'header', required: true, description, schema: { type: 'string' } });

/** OpenAPI 3.1 `webhooks`: what the API POSTs to a video's webhook URL, one entry per event type (docs/webhooks.md). */
function webhookOperations(): Record<string, unknown> {
  return Object.fromEntries(
    WEBHOOK_EVENT_TYPES.map((type) => [
      type,
      {
        post: {
          operationId: `webhook.${type}`,
          summary: `the ${type} event (Standard Webhooks)`,
          security: [],
          parameters: [
            webhookHeader('webhook-id', 'the delivery id `{video_id}.{sequence}`: the same on every retry, de-duplicate by it'),
            webhookHeader('webhook-timestamp', 'seconds since the epoch when this attempt was signed; refuse old ones'),
            webhookHeader('webhook-signature', '`v1,<base64 HMAC-SHA256 of id.timestamp.body>`, space-separated, one per valid secret'),
          ],
          requestBody: { required: true, content: json(webhookPayloadSchemaId(type)) },
          responses: {
            '200': { description: 'any 2xx: delivered' },
            '410': { description: 'Gone: nothing more is delivered to this URL for the video' },
            default: { description: 'anything else (or no answer within the timeout): retried with backoff' },
          },
        },
      },
    ]),
  );
}

export interface OpenApiDocumentOptions {
  /** the API's version (package version) */
  version: string;
  /** the largest init upload accepted, in bytes, for the description */
  uploadLimitBytes?: number;
}

export function buildOpenApiDocument(options: OpenApiDocumentOptions): Record<string, unknown> {
  const security = [{ bearerAuth: [] }, { apiKeyHeader: [] }];
  return {
    openapi: '3.1.1',
    info: {
      title: 'MagicVideo API',
      version: options.version,
      description:
        'Text-to-video generation (MagicVideo). Submit a request, follow its progress (GET or Server-Sent Events), ' +
        'and download the result from presigned URLs. Every error answers with one envelope: `{ error: { code, message, field?, fields? } }`.',
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    security,
    tags: [{ name: 'videos' }, { name: 'operations' }],
    paths: {
      '/v1/videos': {
        post: {
          tags: ['videos'],
          operationId: 'createVideo',
          summary: 'Submit a video generation request',
          parameters: [
            {
              name: 'Idempotency-Key',
              in: 'header',
              required: false,
              description:
                'IETF draft "The Idempotency-Key HTTP Header Field": the same key and body answer the first response again ' +
                '(with Idempotent-Replayed: true); while the first request runs → 409; another body → 422',
              schema: { type: 'string', minLength: 1, maxLength: 255 },
            },
            cancelAfterHeader,
            {
              name: 'Prefer',
              in: 'header',
              required: false,
              description:
                'RFC 7240 `wait=N` (N ≤ 60 s): answer `201` with the video if it ends within N seconds, else the usual `202`; the id is in both (Preference-Applied: wait=N)',
              schema: { type: 'string', examples: ['wait=60'] },
              examples: { wait: { value: 'wait=60' } },
            },
          ],
          requestBody: {
            required: true,
            content: {
              'application/json': { schema: ref('CreateVideoRequest') },
              'multipart/form-data': {
                schema: {
                  type: 'object',
                  required: ['request'],
                  properties: {
                    request: ref('CreateVideoRequest'),
                    init: {
                      type: 'string',
                      contentMediaType: 'application/octet-stream',
                      description: `the init image (PNG, JPEG, GIF, WebP) or video (MP4/MOV, WebM/MKV)${
                        options.uploadLimitBytes === undefined ? '' : `, at most ${options.uploadLimitBytes} bytes`
                      }; required when request.init is set`,
                    },
                  },
                },
                encoding: { request: { contentType: 'application/json' } },
              },
            },
          },
          responses: {
            '201': {
              description: 'Prefer: wait, and the video ended within the wait: the whole video (result URLs when it succeeded)',
              headers: {
                Location: { description: 'the video’s URL', schema: { type: 'string' } },
                'Preference-Applied': { description: 'wait=N', schema: { type: 'string' } },
                ...rateLimitHeaders,
              },
              content: json('Video'),
            },
            '202': {
              description: 'accepted: the video is queued (also after a Prefer: wait that ran out)',
              headers: { Location: { description: 'the video’s URL', schema: { type: 'string' } }, ...rateLimitHeaders },
              content: json('VideoAccepted'),
            },
            '400': errorAnswer(
              'InvalidRequest (with `fields`), InvalidJson, InvalidIdempotencyKey, WebhookUrlNotAllowed, WebhookHostUnresolved, WebhookNotConfigured, ' +
                'InvalidPriority (above the key’s maximum), InvalidCancelAfter, InvalidPrefer',
            ),
            '409': errorAnswer('IdempotencyKeyInUse: the first request with this key is still running'),
            '413': errorAnswer('PayloadTooLarge: the body or the upload is over its limit'),
            '415': errorAnswer('UnsupportedMediaType: neither JSON nor multipart, or an upload that is no image or video'),
            '422': errorAnswer('IdempotencyKeyReused: the key was used with another body'),
            '429': {
              description: 'RateLimited',
              headers: { 'Retry-After': { description: 'seconds to wait', schema: { type: 'integer' } }, ...rateLimitHeaders },
              content: json('Error'),
            },
            ...commonErrors,
          },
        },
        get: {
          tags: ['videos'],
          operationId: 'listVideos',
          summary: 'The caller’s videos, newest first',
          parameters: listQueryParameters(),
          responses: {
            '200': { description: 'one page', content: json('VideoList') },
            '400': errorAnswer('InvalidRequest: a bad limit, cursor or status'),
            ...commonErrors,
          },
        },
      },
      '/v1/videos/{id}': {
        parameters: [videoIdParameter],
        get: {
          tags: ['videos'],
          operationId: 'getVideo',
          summary: 'Status, progress per stage, timings and result URLs',
          responses: {
            '200': { description: 'the video', content: json('Video') },
            '404': errorAnswer('VideoNotFound (also for another key’s video)'),
            '410': errorAnswer('VideoExpired: retention deleted the results; `expired_at` says when'),
            ...commonErrors,
          },
        },
        delete: {
          tags: ['videos'],
          operationId: 'cancelVideo',
          summary: 'Cancel a queued or running video',
          responses: {
            '202': { description: 'cancelled; running stages stop at their next step', content: json('Video') },
            '404': errorAnswer('VideoNotFound'),
            '409': errorAnswer('VideoNotCancellable: the video already finished'),
            ...commonErrors,
          },
        },
      },
      '/v1/videos/{id}/retry': {
        parameters: [videoIdParameter],
        post: {
          tags: ['videos'],
          operationId: 'retryVideo',
          summary: 'Run a failed, cancelled or expired video again, same id, from its first unfinished stage',
          description:
            'Stored stage outputs are reused (stages are idempotent: same inputs and seed, same outputs); once retention deleted the intermediates it starts from the first stage. Each run is listed in `runs`.',
          parameters: [cancelAfterHeader],
          responses: {
            '202': { description: 'queued again', content: json('Video') },
            '400': errorAnswer('InvalidCancelAfter'),
            '404': errorAnswer('VideoNotFound'),
            '409': errorAnswer('VideoNotRetryable: the video is queued, running or succeeded'),
            '410': errorAnswer('VideoExpired'),
            ...commonErrors,
          },
        },
      },
      '/v1/videos/{id}/events': {
        parameters: [videoIdParameter],
        get: {
          tags: ['videos'],
          operationId: 'streamVideoEvents',
          summary: 'Server-Sent Events of status and per-step progress; ends after the final status',
          parameters: [
            {
              name: 'Last-Event-ID',
              in: 'header',
              required: false,
              description: 'resume after this event id',
              schema: { type: 'string' },
            },
            {
              name: 'last_event_id',
              in: 'query',
              required: false,
              description: 'the same as the Last-Event-ID header, for clients that cannot set headers',
              schema: { type: 'string' },
            },
          ],
          responses: {
            '200': {
              description:
                'text/event-stream: `id:` the event id, `event:` its type, `data:` a VideoStreamEvent as JSON; `: keep-alive` comments while idle; ' +
                'while the video is queued, `event: queue` (no `id:`) with a VideoQueueEvent each time its place changes',
              content: { 'text/event-stream': { schema: { type: 'string' }, 'x-item-schema': ref('VideoStreamEvent') } },
            },
            '400': errorAnswer('InvalidEventId'),
            '404': errorAnswer('VideoNotFound'),
            '410': errorAnswer('VideoExpired'),
            ...commonErrors,
          },
        },
      },
      '/v1/videos/{id}/webhooks': {
        parameters: [videoIdParameter],
        get: {
          tags: ['videos'],
          operationId: 'listWebhookAttempts',
          summary: 'Every delivery attempt of the video’s webhooks (time, status code, latency, error), oldest first',
          responses: { '200': { description: 'the attempts', content: json('WebhookAttemptList') }, '404': errorAnswer('VideoNotFound'), ...commonErrors },
        },
      },
      '/v1/videos/{id}/webhooks/{deliveryId}/retry': {
        parameters: [
          videoIdParameter,
          { name: 'deliveryId', in: 'path', required: true, description: 'a delivery_id of the attempt list', schema: { type: 'string' } },
        ],
        post: {
          tags: ['videos'],
          operationId: 'retryWebhookDelivery',
          summary: 'Deliver again, with the same webhook-id and a fresh set of attempts',
          responses: {
            '202': { description: 'queued', content: json('WebhookRetryAccepted') },
            '404': errorAnswer('VideoNotFound or WebhookDeliveryNotFound'),
            ...commonErrors,
          },
        },
      },
      '/healthz': {
        get: {
          tags: ['operations'],
          operationId: 'healthz',
          summary: 'Liveness',
          security: [],
          responses: { '200': { description: 'the process runs' } },
        },
      },
      '/readyz': {
        get: {
          tags: ['operations'],
          operationId: 'readyz',
          summary: 'Readiness: Redis and S3 answer',
          security: [],
          responses: { '200': { description: 'ready' }, '503': { description: 'a dependency does not answer' } },
        },
      },
    },
    webhooks: webhookOperations(),
    components: {
      schemas: componentSchemas(),
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer <API key>' },
        apiKeyHeader: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
      },
    },
  };
}
