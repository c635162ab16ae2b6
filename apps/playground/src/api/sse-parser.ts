/** One dispatched Server-Sent Event (WHATWG HTML §9.2 "event stream interpretation"). */
export interface ServerSentEvent {
  /** the last `id:` seen so far: what a reconnect sends as Last-Event-ID */
  id: string;
  /** `event:`, or "message" when the event named none */
  event: string;
  data: string;
}

/**
 * An incremental text/event-stream parser, fed decoded text chunks as they arrive. EventSource
 * cannot send an Authorization header, so the page reads the stream with fetch and parses it here.
 */
export class SseParser {
  private pending = '';
  /** a chunk ended in CR: a LF starting the next chunk belongs to the same line end */
  private skipLeadingLf = false;
  private data: string[] = [];
  private eventType = '';
  private lastEventId = '';
  /** the server's `retry:` in ms, when it sent one */
  retryMs: number | undefined;

  /** Parses a chunk; returns the events it completed. */
  push(chunk: string): ServerSentEvent[] {
    let text = chunk;
    if (this.skipLeadingLf && text.startsWith('\n')) text = text.slice(1);
    this.skipLeadingLf = false;
    const lines = (this.pending + text).split(/\r\n|\r|\n/);
    this.pending = lines.pop() ?? '';
    // "a\r" splits into ["a", ""]: the CR ended the line; a LF may still come as the next chunk's first character
    if (text.endsWith('\r')) this.skipLeadingLf = true;
    const events: ServerSentEvent[] = [];
    for (const line of lines) {
      const event = this.line(line);
      if (event !== undefined) events.push(event);
    }
    return events;
  }

  private line(line: string): ServerSentEvent | undefined {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.eventType = value;
    else if (field === 'id' && !value.includes('\0')) this.lastEventId = value;
    else if (field === 'retry' && /^\d+$/.test(value)) this.retryMs = Number(value);
    return undefined;
  }

  private dispatch(): ServerSentEvent | undefined {
    const data = this.data;
    const event = this.eventType;
    this.data = [];
    this.eventType = '';
    if (data.length === 0) return undefined;
    return { id: this.lastEventId, event: event === '' ? 'message' : event, data: data.join('\n') };
  }
}
