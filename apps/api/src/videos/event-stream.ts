import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import { type Logger, type VideoQueueEvent, videoStreamEvent, type VideoStreamItem } from '@magicvideo/shared';

/** How long a client waits before reconnecting after the connection drops (SSE `retry:`). */
const RECONNECT_MS = 3_000;

/**
 * One SSE message: `id:` the stream id (Last-Event-ID on reconnect), `event:` its type, `data:` the
 * event as JSON. A `queue` event has no `id:`: it is not stored, and the client's Last-Event-ID stays that of the last stored event.
 */
function sseMessage(item: VideoStreamItem): string {
  if (item.kind === 'keep-alive') return ': keep-alive\n\n';
  if (item.kind === 'queue') {
    const queue: VideoQueueEvent = { video_id: item.videoId, at: item.at, queue: item.queue };
    return `event: queue\ndata: ${JSON.stringify(queue)}\n\n`;
  }
  const data = videoStreamEvent(item.event);
  return `id: ${data.id}\nevent: ${data.event.type}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * Writes the events to the raw response as text/event-stream until they end (the final status),
 * the client goes away or the server shuts down (`signal`), then ends the response. Waits for
 * `drain` when the client reads slowly, so a stalled client cannot grow our buffers.
 */
export async function writeEventStream(
  response: ServerResponse,
  items: AsyncIterable<VideoStreamItem>,
  signal: AbortSignal,
  logger: Logger,
): Promise<void> {
  response.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache, no-transform',
    Connection: 'keep-alive',
    // nginx and similar proxies would otherwise buffer the stream
    'X-Accel-Buffering': 'no',
  });
  response.write(`retry: ${RECONNECT_MS}\n\n`);
  try {
    for await (const item of items) {
      if (signal.aborted || response.destroyed) break;
      if (!response.write(sseMessage(item))) await once(response, 'drain', { signal });
    }
  } catch (error) {
    // after an abort (client gone, server stopping) an error is the abort's own doing; any other is
    // logged, and the stream ends: the client reconnects with Last-Event-ID
    if (!signal.aborted) logger.error({ err: error }, 'event stream failed');
  } finally {
    if (!response.destroyed) response.end();
  }
}
