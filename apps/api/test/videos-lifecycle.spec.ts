import { Redis } from 'ioredis';
import {
  artifactKey,
  cancelChannel,
  STAGE_NAMES,
  stageCompleted,
  stageJobId,
  stageProgressed,
  stageStarted,
  videoFailed,
  videoSchema,
  videoStreamEventSchema,
  type VideoTransitionResult,
  type VideoRecord,
} from '@magicvideo/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiHarness, type ErrorBody, type Owner, startApi } from './api-harness';

/**
 * Cancel and the event stream. The test plays the workers: it drives a video through the job
 * store exactly as they do (VideoStore.update with the shared transitions), and watches the API.
 */

interface SseMessage {
  id?: string;
  event?: string;
  data?: string;
  comment?: string;
}

/** Reads a text/event-stream to its end, message by message. */
async function* sseMessages(response: Response): AsyncGenerator<SseMessage> {
  if (response.body === null) throw new Error('no body');
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of response.body) {
    buffer += decoder.decode(chunk as Uint8Array, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) !== -1) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const message: SseMessage = {};
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) message.comment = line.slice(1).trim();
        const match = /^(id|event|data): ?(.*)$/.exec(line);
        if (match) message[match[1] as 'id' | 'event' | 'data'] = match[2];
      }
      if (message.id !== undefined || message.comment !== undefined) yield message;
    }
  }
}

/** The messages that carry events (not keep-alives), until the stream ends or `count` arrived. */
async function readEvents(messages: AsyncGenerator<SseMessage>, count = Infinity): Promise<SseMessage[]> {
  const events: SseMessage[] = [];
  while (events.length < count) {
    const next = await messages.next();
    if (next.done) break;
    if (next.value.id !== undefined) events.push(next.value);
  }
  return events;
}

describe('cancel and the event stream', () => {
  let api: ApiHarness;

  beforeAll(async () => {
    api = await startApi({ RATE_LIMIT_BURST: '100' });
  });

  afterAll(async () => {
    await api?.stop();
  });

  const submit = async (owner: Owner, body: Record<string, unknown>): Promise<string> => {
    const response = await api.submit(owner, body);
    expect(response.status).toBe(202);
    return ((await response.json()) as { id: string }).id;
  };
  const get = async (owner: Owner, id: string) => {
    const response = await api.call(owner, `/v1/videos/${id}`);
    expect(response.status).toBe(200);
    const video = (await response.json()) as Record<string, unknown>;
    expect(videoSchema.safeParse(video).error).toBeUndefined();
    return video;
  };
  const drive = async (id: string, transition: (record: VideoRecord, now: Date) => VideoTransitionResult | null) => {
    const result = await api.store.update(id, (record) => transition(record, new Date()));
    expect(result).not.toBeNull();
  };
  /** A worker running a whole stage: start, `steps` progress reports, completion with its outputs. */
  const runStage = async (id: string, stage: (typeof STAGE_NAMES)[number], steps: number, outputs: Record<string, string> = {}) => {
    await drive(id, (record, now) => stageStarted(record, stage, 1, now));
    for (let step = 1; step <= steps; step += 1) await drive(id, (record, now) => stageProgressed(record, stage, step, steps, now));
    await drive(id, (record, now) => stageCompleted(record, stage, outputs, now));
  };
  const openStream = (owner: Owner, id: string, options: { lastEventId?: string; query?: string } = {}) =>
    api.call(owner, `/v1/videos/${id}/events${options.query ?? ''}`, {
      headers: { Accept: 'text/event-stream', ...(options.lastEventId === undefined ? {} : { 'Last-Event-ID': options.lastEventId }) },
    });

  it('streams a video’s events in order as the workers report them, ends after the final status, and resumes after Last-Event-ID', async () => {
    const id = await submit('alice', { prompt: 'streamed', interpolate: false, super_resolution: false, seed: 5 });
    const response = await openStream('alice', id);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const messages = sseMessages(response);
    // the backlog first: the queued status
    const backlog = await readEvents(messages, 1);
    expect(backlog).toEqual([expect.objectContaining({ event: 'status' })]);

    // then live, while the stream waits
    await runStage(id, 'keyframe', 3, { keyframes: artifactKey(id, 'keyframes') });
    await api.artifacts.putBytes(id, 'videoMp4', new TextEncoder().encode('not really an mp4'), 'video/mp4');
    await runStage(id, 'decode', 2, { frames: artifactKey(id, 'frames'), videoMp4: artifactKey(id, 'videoMp4') });
    const live = await readEvents(messages);
    const all = [...backlog, ...live];

    const data = all.map((message) => videoStreamEventSchema.parse(JSON.parse(message.data ?? '')));
    expect(all.map((message) => message.event)).toEqual([
      'status',
      'status',
      'stage.started',
      'progress',
      'progress',
      'progress',
      'stage.completed',
      'stage.started',
      'progress',
      'progress',
      'stage.completed',
      'status',
    ]);
    expect(data.map((event) => event.sequence)).toEqual(all.map((_, index) => index + 1));
    expect(data.map((event) => event.id)).toEqual(all.map((message) => message.id));
    expect(data.map((event) => (event.event.type === 'status' ? event.event.status : undefined)).filter(Boolean)).toEqual([
      'queued',
      'running',
      'succeeded',
    ]);
    expect(data[4]?.event).toMatchObject({ type: 'progress', stage: 'keyframe', step: 2, total_steps: 3 });
    // the stream is exactly what the store holds
    expect(all.map((message) => message.id)).toEqual((await api.store.readEvents(id)).map((event) => event.id));

    // a reconnect resumes after the last event it saw, without repeats, and ends again
    const resumed = await readEvents(sseMessages(await openStream('alice', id, { lastEventId: all[4]?.id })));
    expect(resumed.map((message) => message.id)).toEqual(all.slice(5).map((message) => message.id));
    const afterEnd = await readEvents(sseMessages(await openStream('alice', id, { query: `?last_event_id=${all.at(-1)?.id}` })));
    expect(afterEnd).toEqual([]);

    // the finished video: its result, presigned
    const video = (await get('alice', id)) as { status: string; progress: number; result: { videos: { format: string; url: string; expires_at: string }[] } };
    expect(video).toMatchObject({ status: 'succeeded', progress: 1 });
    expect(video.result.videos.map((entry) => entry.format)).toEqual(['mp4']);
    const download = await fetch(video.result.videos[0]?.url ?? '');
    expect(await download.text()).toBe('not really an mp4');
    expect(Date.parse(video.result.videos[0]?.expires_at ?? '')).toBeGreaterThan(Date.now());
  });

  it('hands out the preview as soon as it is written, before the video is done', async () => {
    const id = await submit('alice', { prompt: 'preview first' });
    expect((await get('alice', id)).result).toBeNull();
    await api.artifacts.putBytes(id, 'preview', new TextEncoder().encode('GIF89a preview'), 'image/gif');
    await runStage(id, 'keyframe', 1, { keyframes: artifactKey(id, 'keyframes'), preview: artifactKey(id, 'preview') });
    const video = (await get('alice', id)) as { status: string; result: { videos: unknown[]; preview: { url: string; expires_at: string } } };
    expect(video.status).toBe('running');
    expect(video.result.videos).toEqual([]);
    expect(await (await fetch(video.result.preview.url)).text()).toBe('GIF89a preview');
  });

  it('streams a failure with its error, and GET shows it', async () => {
    const id = await submit('alice', { prompt: 'doomed', interpolate: false, super_resolution: false });
    await drive(id, (record, now) => stageStarted(record, 'keyframe', 1, now));
    await drive(id, (record, now) => videoFailed(record, { code: 'ModelError', message: 'the U-Net failed', stage: 'keyframe' }, now));
    const events = await readEvents(sseMessages(await openStream('alice', id)));
    expect(JSON.parse(events.at(-1)?.data ?? '').event).toEqual({
      type: 'status',
      status: 'failed',
      stage: 'keyframe',
      error: { code: 'ModelError', message: 'the U-Net failed', stage: 'keyframe' },
    });
    expect(await get('alice', id)).toMatchObject({ status: 'failed', error: { code: 'ModelError', message: 'the U-Net failed', stage: 'keyframe' } });
  });

  it('refuses a malformed Last-Event-ID with 400 before streaming', async () => {
    const id = await submit('alice', { prompt: 'x' });
    const response = await openStream('alice', id, { lastEventId: 'yesterday' });
    expect(response.status).toBe(400);
    expect(((await response.json()) as ErrorBody).error).toMatchObject({ code: 'InvalidEventId', field: 'last_event_id' });
  });

  it('cancels a queued video: status cancelled, its stage jobs gone, workers told, a second cancel refused', async () => {
    const subscriber = new Redis(api.services.redis.url);
    const cancels: string[] = [];
    subscriber.on('message', (_channel: string, message: string) => cancels.push(message));
    await subscriber.subscribe(cancelChannel(api.services.queuePrefix));
    try {
      const id = await submit('bob', { prompt: 'never mind' });
      expect(await api.queues.keyframe.getJob(stageJobId(id, 'keyframe'))).toBeDefined();

      const response = await api.call('bob', `/v1/videos/${id}`, { method: 'DELETE' });
      expect(response.status).toBe(202);
      const cancelled = (await response.json()) as { status: string; stages: Record<string, { state: string }> };
      expect(videoSchema.safeParse(cancelled).error).toBeUndefined();
      expect(cancelled.status).toBe('cancelled');
      expect(Object.values(cancelled.stages).map((stage) => stage.state)).toEqual(['cancelled', 'cancelled', 'cancelled', 'cancelled']);

      for (const stage of STAGE_NAMES) expect(await api.queues[stage].getJob(stageJobId(id, stage)), stage).toBeUndefined();
      await expect.poll(() => cancels).toEqual([id]);
      expect(await get('bob', id)).toMatchObject({ status: 'cancelled' });

      const again = await api.call('bob', `/v1/videos/${id}`, { method: 'DELETE' });
      expect(again.status).toBe(409);
      expect(((await again.json()) as ErrorBody).error).toMatchObject({ code: 'VideoNotCancellable', message: expect.stringContaining('cancelled') });
      // its stream: queued, then cancelled, then the end
      const events = await readEvents(sseMessages(await openStream('bob', id)));
      expect(events.map((message) => JSON.parse(message.data ?? '').event.status)).toEqual(['queued', 'cancelled']);
    } finally {
      await subscriber.quit();
    }
  });

  it('refuses to cancel a video that already succeeded', async () => {
    const id = await submit('bob', { prompt: 'done already', interpolate: false, super_resolution: false });
    await runStage(id, 'keyframe', 1);
    await runStage(id, 'decode', 1);
    const response = await api.call('bob', `/v1/videos/${id}`, { method: 'DELETE' });
    expect(response.status).toBe(409);
    expect(((await response.json()) as ErrorBody).error.code).toBe('VideoNotCancellable');
    expect(await get('bob', id)).toMatchObject({ status: 'succeeded' });
  });
});
