/**
 * An EventSource-like client for GET /v1/videos/{id}/events that does what a browser does when
 * the connection drops: reconnects after a pause with `Last-Event-ID`, until the stream has
 * delivered a final status and ended. It records every event id it received, in order, and how
 * often it had to reconnect.
 */

const FINAL_STATUSES = ['succeeded', 'failed', 'cancelled', 'expired'];

/** A `status` event whose status is final: the server ends the stream after it. */
function isFinal(type: string | undefined, data: string | undefined): boolean {
  if (type !== 'status' || data === undefined) return false;
  const parsed = JSON.parse(data) as { event?: { status?: string } };
  return FINAL_STATUSES.includes(parsed.event?.status ?? '');
}

export interface SseListener {
  /** the stream ids of the events received, in arrival order (duplicates kept, to be counted) */
  eventIds: string[];
  eventTypes: string[];
  reconnects: number;
  /** resolves once a final event arrived and its stream ended */
  done: Promise<void>;
  stop(): void;
}

export function listenToVideo(apiUrl: () => string, authorization: string, videoId: string, options: { reconnectMs?: number; timeoutMs?: number } = {}): SseListener {
  const controller = new AbortController();
  const listener: SseListener = { eventIds: [], eventTypes: [], reconnects: 0, done: Promise.resolve(), stop: () => controller.abort() };
  const deadline = Date.now() + (options.timeoutMs ?? 600_000);

  const readOnce = async (): Promise<boolean> => {
    const lastEventId = listener.eventIds.at(-1);
    const response = await fetch(`${apiUrl()}/v1/videos/${videoId}/events`, {
      headers: { Authorization: authorization, ...(lastEventId === undefined ? {} : { 'Last-Event-ID': lastEventId }) },
      signal: controller.signal,
    });
    if (response.status !== 200 || response.body === null) throw new Error(`events answered ${response.status}`);
    let finalSeen = false;
    let buffer = '';
    const decoder = new TextDecoder();
    for await (const chunk of response.body) {
      buffer += decoder.decode(chunk as Uint8Array, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) !== -1) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const id = /^id: ?(.*)$/m.exec(block)?.[1];
        const type = /^event: ?(.*)$/m.exec(block)?.[1];
        if (id === undefined) continue;
        listener.eventIds.push(id);
        listener.eventTypes.push(type ?? '');
        if (isFinal(type, /^data: ?(.*)$/m.exec(block)?.[1])) finalSeen = true;
      }
    }
    return finalSeen;
  };

  listener.done = (async () => {
    for (;;) {
      try {
        if (await readOnce()) return;
      } catch (error) {
        if (controller.signal.aborted) throw error;
        // the API is down or restarting: like EventSource, wait and reconnect
      }
      if (Date.now() > deadline) throw new Error(`no final event for ${videoId} before the deadline; got ${listener.eventTypes.join(', ')}`);
      listener.reconnects += 1;
      await new Promise((resolve) => setTimeout(resolve, options.reconnectMs ?? 500));
    }
  })();
  return listener;
}
