import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiError } from './api-error';
import { PlaygroundApi } from './playground-api';
import { videoEventStream, type VideoStreamItem } from './video-event-stream';

/** An SSE message as the API writes it (apps/api/src/videos/event-stream.ts). */
function message(sequence: number, event: Record<string, unknown>): string {
  const id = `${sequence}-0`;
  const data = { id, video_id: 'vid_1', sequence, at: '2026-01-01T00:00:00.000Z', event };
  return `id: ${id}\nevent: ${String(event.type)}\ndata: ${JSON.stringify(data)}\n\n`;
}

let server: Server | undefined;
afterEach(async () => {
  if (server === undefined) return;
  // the client's idle keep-alive connections would hold close() for seconds
  server.closeAllConnections();
  await new Promise<void>((resolve, reject) => server!.close((error) => (error === undefined ? resolve() : reject(error))));
  server = undefined;
});

/** A server that answers each connection with the next handler, recording what each request sent. */
async function serve(handlers: ((request: IncomingMessage, write: (text: string) => void) => { end: boolean })[]) {
  const requests: IncomingMessage[] = [];
  const closed: Promise<void>[] = [];
  server = createServer((request, response) => {
    closed.push(new Promise((resolve) => response.on('close', () => resolve())));
    const handler = handlers[requests.length];
    requests.push(request);
    if (handler === undefined) throw new Error('more connections than expected');
    response.writeHead(200, { 'Content-Type': 'text/event-stream' });
    const outcome = handler(request, (text) => response.write(text));
    if (outcome.end) response.end();
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { api: new PlaygroundApi(`http://127.0.0.1:${(server!.address() as AddressInfo).port}`, 'key-1'), requests, closed };
}

/** Each item as its sequence number, or `queue <position>` for a queue update. */
async function collect(stream: AsyncIterable<VideoStreamItem>): Promise<(number | string)[]> {
  const items: (number | string)[] = [];
  for await (const item of stream) items.push(item.kind === 'event' ? item.event.sequence : `queue ${item.update.queue.position}`);
  return items;
}

describe('videoEventStream', () => {
  it('resumes a dropped stream with Last-Event-ID (a queue update has none), skips events it does not know, and closes the connection after the final status', async () => {
    const { api, requests, closed } = await serve([
      (_request, write) => {
        write('retry: 10\n\n');
        write(message(1, { type: 'stage.started', stage: 'keyframe', attempt: 1 }));
        write(`event: queue\ndata: ${JSON.stringify({ video_id: 'vid_1', at: '2026-01-01T00:00:00.000Z', queue: { stage: 'keyframe', position: 2, estimated_start_at: null } })}\n\n`);
        write('event: something-newer\ndata: {}\n\n');
        write(message(2, { type: 'progress', stage: 'keyframe', step: 1, total_steps: 2, stage_progress: 0.5, progress: 0.1 }));
        return { end: true };
      },
      (_request, write) => {
        write(message(3, { type: 'status', status: 'succeeded', stage: 'keyframe' }));
        // left open: the client, not the server, must end after the final status
        return { end: false };
      },
    ]);
    const disconnects: string[] = [];
    const sequences = await collect(videoEventStream(api, 'vid_1', new AbortController().signal, (reason) => disconnects.push(reason.message)));
    expect(sequences).toEqual([1, 'queue 2', 2, 3]);
    // the client closed the connection the server left open (otherwise this waits until the test times out)
    await Promise.all(closed);
    expect(requests.map((request) => request.headers['last-event-id'])).toEqual([undefined, '2-0']);
    expect(requests.every((request) => request.headers.authorization === 'Bearer key-1')).toBe(true);
    expect(disconnects).toEqual(['the event stream ended before the video finished']);
  });

  it('throws the API error of a refused stream instead of reconnecting', async () => {
    server = createServer((_request, response) => {
      response.writeHead(401, { 'Content-Type': 'application/json' });
      response.end(JSON.stringify({ error: { code: 'Unauthenticated', message: 'an API key is required' } }));
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const api = new PlaygroundApi(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, 'wrong');
    const failure = await collect(videoEventStream(api, 'vid_1', new AbortController().signal)).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ApiError);
    expect(failure).toMatchObject({ code: 'Unauthenticated', status: 401, isUnauthenticated: true });
  });
});
