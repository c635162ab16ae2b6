import { describe, expect, it } from 'vitest';
import { SseParser } from './sse-parser';

const STREAM = 'retry: 3000\n\n: keep-alive\n\nid: 1-0\nevent: progress\ndata: {"a":1}\n\nid: 2-0\nevent: status\ndata: line one\ndata: line two\n\n';

describe('SseParser', () => {
  it('dispatches events with their id, type and data, skipping comments and reading retry', () => {
    const parser = new SseParser();
    expect(parser.push(STREAM)).toEqual([
      { id: '1-0', event: 'progress', data: '{"a":1}' },
      { id: '2-0', event: 'status', data: 'line one\nline two' },
    ]);
    expect(parser.retryMs).toBe(3000);
  });

  it('gives the same events however the stream is cut into chunks', () => {
    const whole = new SseParser().push(STREAM);
    for (let size = 1; size <= 7; size++) {
      const parser = new SseParser();
      const events = [];
      for (let start = 0; start < STREAM.length; start += size) events.push(...parser.push(STREAM.slice(start, start + size)));
      expect(events).toEqual(whole);
    }
  });

  it('treats CRLF split across chunks as one line end, and CR alone as a line end', () => {
    const parser = new SseParser();
    const events = [...parser.push('id: 7\r'), ...parser.push('\ndata: x\r'), ...parser.push('\r'), ...parser.push('data: y\r\r')];
    expect(events).toEqual([
      { id: '7', event: 'message', data: 'x' },
      { id: '7', event: 'message', data: 'y' },
    ]);
  });

  it('does not dispatch an event whose data never ended with a blank line', () => {
    const parser = new SseParser();
    expect(parser.push('id: 1\nevent: status\ndata: half')).toEqual([]);
  });

  it('keeps the last id for later events that name none, and resets the type after each event', () => {
    const parser = new SseParser();
    expect(parser.push('id: 5\nevent: status\ndata: a\n\ndata: b\n\n')).toEqual([
      { id: '5', event: 'status', data: 'a' },
      { id: '5', event: 'message', data: 'b' },
    ]);
  });
});
