import type { z } from 'zod';
import {
  type CreateVideoRequest,
  listVideosQuerySchema,
  type VideoAccepted,
  videoAcceptedSchema,
  type VideoList,
  videoListSchema,
  type VideoResource,
  videoSchema,
  type WebhookAttemptList,
  webhookAttemptListSchema,
} from '@magicvideo/shared/http-schemas';
import { ApiError, apiErrorOf } from './api-error';

/** GET /v1/videos's filter, as the page offers it. */
export type VideoStatus = NonNullable<z.input<typeof listVideosQuerySchema>['status']>;

/** The public HTTP API (docs/api.md) as the page uses it: same endpoints and auth as any client. */
export class PlaygroundApi {
  constructor(
    /** the API's origin (the page's own, when served by the API) */
    readonly baseUrl: string,
    readonly apiKey: string,
  ) {}

  get authorization(): string {
    return `Bearer ${this.apiKey}`;
  }

  submit(request: CreateVideoRequest): Promise<VideoAccepted> {
    return this.call('/v1/videos', videoAcceptedSchema, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(request),
    });
  }

  get(id: string): Promise<VideoResource> {
    return this.call(`/v1/videos/${encodeURIComponent(id)}`, videoSchema);
  }

  cancel(id: string): Promise<VideoResource> {
    return this.call(`/v1/videos/${encodeURIComponent(id)}`, videoSchema, { method: 'DELETE' });
  }

  /** Every delivery attempt of the video's webhooks, oldest first. */
  webhookAttempts(id: string): Promise<WebhookAttemptList> {
    return this.call(`/v1/videos/${encodeURIComponent(id)}/webhooks`, webhookAttemptListSchema);
  }

  list(query: { limit: number; cursor?: string | undefined; status?: VideoStatus | undefined }): Promise<VideoList> {
    const parsed = listVideosQuerySchema.parse(query);
    const search = new URLSearchParams({ limit: String(parsed.limit) });
    if (parsed.cursor !== undefined) search.set('cursor', parsed.cursor);
    if (parsed.status !== undefined) search.set('status', parsed.status);
    return this.call(`/v1/videos?${search}`, videoListSchema);
  }

  /** fetch with the key; a non-2xx answer throws its ApiError, a 2xx one is checked against the schema. */
  private async call<T>(path: string, schema: z.ZodType<T>, init: RequestInit = {}): Promise<T> {
    const response = await fetch(new URL(path, this.baseUrl), {
      ...init,
      headers: { ...init.headers, Authorization: this.authorization, Accept: 'application/json' },
    });
    if (!response.ok) throw await apiErrorOf(response);
    const parsed = schema.safeParse(await response.json());
    if (!parsed.success) throw new ApiError('UnexpectedAnswer', `${path}: the answer does not match the API's schema: ${parsed.error.message}`, response.status);
    return parsed.data;
  }
}
