import {
  type VideoQueueEvent,
  videoQueueEventSchema,
  type VideoResource,
  type VideoStreamEvent,
  videoStreamEventSchema,
} from '@magicvideo/shared/http-schemas';
import { ApiError, apiErrorOf } from './api-error';
import type { PlaygroundApi } from './playground-api';
import { SseParser } from './sse-parser';

const TERMINAL: ReadonlySet<VideoResource['status']> = new Set(['succeeded', 'failed', 'cancelled', 'expired']);
const DEFAULT_RECONNECT_MS = 3_000;
/** The SSE `event:` names of the video's stored events; any other (a newer server's) is skipped, as EventSource skips events no one listens to. */
const STORED_EVENT_TYPES: ReadonlySet<string> = new Set(videoStreamEventSchema.shape.event.options.map((option) => option.shape.type.value));

/** What the stream carries: the video's stored events, and its place in the queue while it waits (not stored, no id). */
export type VideoStreamItem = { kind: 'event'; event: VideoStreamEvent } | { kind: 'queue'; update: VideoQueueEvent };

/** A status event that ends the video's stream: the server closes it after one. */
export function isFinalEvent(event: VideoStreamEvent): boolean {
  return event.event.type === 'status' && TERMINAL.has(event.event.status);
}

/**
 * The events of GET /v1/videos/{id}/events (stored events and queue updates), read with fetch so the request carries the
 * Authorization header (EventSource cannot). As EventSource does, a dropped or refused connection
 * (a network error, the stream ending early) is resumed with Last-Event-ID after the server's
 * `retry:`, telling `onDisconnect` why; an error answer of the API (401, 404) is thrown as its
 * ApiError. The stream ends after the final status or when `signal` aborts.
 */
export async function* videoEventStream(
  api: PlaygroundApi,
  videoId: string,
  signal: AbortSignal,
  onDisconnect: (reason: Error) => void = () => undefined,
): AsyncGenerator<VideoStreamItem> {
  const parser = new SseParser();
  let lastEventId = '';
  while (!signal.aborted) {
    const headers: Record<string, string> = { Authorization: api.authorization, Accept: 'text/event-stream' };
    if (lastEventId !== '') headers['Last-Event-ID'] = lastEventId;
    let response: Response;
    try {
      response = await fetch(new URL(`/v1/videos/${encodeURIComponent(videoId)}/events`, api.baseUrl), { headers, signal });
    } catch (error) {
      if (signal.aborted) return;
      onDisconnect(error as Error);
      await abortableDelay(parser.retryMs ?? DEFAULT_RECONNECT_MS, signal);
      continue;
    }
    if (!response.ok) throw await apiErrorOf(response);
    if (response.body === null) throw new ApiError('UnexpectedAnswer', 'the event stream has no body', response.status);
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let open = true;
    try {
      for (;;) {
        let chunk: ReadableStreamReadResult<string>;
        try {
          chunk = await reader.read();
        } catch (error) {
          open = false;
          if (signal.aborted) return;
          onDisconnect(error as Error);
          break;
        }
        if (chunk.done) {
          open = false;
          onDisconnect(new Error('the event stream ended before the video finished'));
          break;
        }
        for (const message of parser.push(chunk.value)) {
          lastEventId = message.id;
          if (message.event === 'queue') {
            yield { kind: 'queue', update: videoQueueEventSchema.parse(JSON.parse(message.data)) };
            continue;
          }
          if (!STORED_EVENT_TYPES.has(message.event)) continue;
          const event = videoStreamEventSchema.parse(JSON.parse(message.data));
          yield { kind: 'event', event };
          if (isFinalEvent(event)) return;
        }
      }
    } finally {
      // after the final status, a consumer that stopped early, or an unreadable event: close the connection
      if (open) await reader.cancel();
    }
    await abortableDelay(parser.retryMs ?? DEFAULT_RECONNECT_MS, signal);
  }
}

function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}
