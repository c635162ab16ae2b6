import type { S3Client } from '@aws-sdk/client-s3';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArtifactStore, InvalidArtifact } from '../storage/artifact-store';
import { createS3Client } from '../storage/s3-client';
import { startTestServices, type TestServices } from '../testing';
import { videoRecordSchema, type VideoRecord } from './video-record';
import { videoRecordFixture } from './video-record.fixture';
import { VideoStore } from './video-store';
import { InvalidCursor, InvalidEventId, VideoAlreadyExists, VideoNotFound } from './video-store-errors';
import { stageCompleted, stageProgressed, stageStarted, videoCancelled, videoRetried } from './video-transitions';

describe('VideoStore (real Redis and S3)', () => {
  let services: TestServices;
  let s3: S3Client;
  let artifacts: ArtifactStore;
  let redisA: Redis;
  let redisB: Redis;
  let storeA: VideoStore;
  let storeB: VideoStore;
  let counter = 0;
  const newId = (): string => `vid-${Date.now().toString(36)}-${(counter += 1)}`;

  beforeAll(async () => {
    services = await startTestServices();
    const { endpoint, region, accessKeyId, secretAccessKey } = services.s3;
    s3 = createS3Client({ endpoint, region, credentials: { accessKeyId, secretAccessKey }, forcePathStyle: true });
    artifacts = new ArtifactStore(s3, services.s3.bucket);
    // Two connections, as the API and a worker would have: concurrency across processes.
    redisA = new Redis(services.redis.url, { maxRetriesPerRequest: 1 });
    redisB = new Redis(services.redis.url, { maxRetriesPerRequest: 1 });
    storeA = new VideoStore({ redis: redisA, prefix: services.queuePrefix, artifacts });
    storeB = new VideoStore({ redis: redisB, prefix: services.queuePrefix, artifacts });
  }, 60_000);

  afterAll(async () => {
    await redisA?.quit();
    await redisB?.quit();
    s3?.destroy();
    await services?.stop();
  });

  /**
   * job.json as stored. s3rver answers a PUT before its file is fully written, so a read right
   * after one may see a partial file: only that is waited out, never a wrong but whole record.
   */
  async function storedSnapshot(videoId: string): Promise<VideoRecord | undefined> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await artifacts.getJson(videoId, 'job', videoRecordSchema);
      } catch (error) {
        if (!(error instanceof InvalidArtifact) || attempt >= 50) throw error;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  }

  it('creates a record with its queued event and job.json, once', async () => {
    const record = videoRecordFixture({ id: newId() });
    const events = await storeA.create(record);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ videoId: record.id, sequence: 1, event: { type: 'status', status: 'queued', stage: null } });
    expect(await storeB.get(record.id)).toEqual({ ...record, sequence: 1 });
    expect(await storedSnapshot(record.id)).toEqual({ ...record, sequence: 1 });
    await expect(storeB.create(record)).rejects.toBeInstanceOf(VideoAlreadyExists);
    expect(await storeA.readEvents(record.id)).toHaveLength(1);
  });

  it('gives undefined for an unknown video and VideoNotFound when updating one', async () => {
    expect(await storeA.get('never-created')).toBeUndefined();
    expect(await storeA.get('../etc')).toBeUndefined();
    await expect(storeA.update('never-created', (record) => videoCancelled(record, new Date()))).rejects.toBeInstanceOf(VideoNotFound);
  });

  it('applies concurrent updates from two connections without losing one', async () => {
    const record = videoRecordFixture({ id: newId() });
    await storeA.create(record);
    await storeA.update(record.id, (current) => stageStarted(current, 'keyframe', 1, new Date()));
    // Each update adds one output key; a lost update would drop one of them.
    const keys = Array.from({ length: 20 }, (_, index) => `k${index}`);
    await Promise.all(
      keys.map((key, index) =>
        (index % 2 === 0 ? storeA : storeB).update(record.id, (current) => ({
          record: { ...current, outputs: { ...current.outputs, [index % 2 === 0 ? 'text' : 'keyframes']: `${current.outputs.text ?? ''}|${current.outputs.keyframes ?? ''}|${key}` }, updatedAt: new Date().toISOString() },
          events: [{ type: 'progress', stage: 'keyframe', step: 0, totalSteps: 0, stageProgress: 0, progress: 0 }],
        })),
      ),
    );
    const final = (await storeA.get(record.id)) as VideoRecord;
    // 1 queued + 2 for the start + 20 updates, each numbered once.
    expect(final.sequence).toBe(23);
    const events = await storeB.readEvents(record.id);
    expect(events.map((event) => event.sequence)).toEqual(Array.from({ length: 23 }, (_, index) => index + 1));
    const seen = `${final.outputs.text ?? ''}|${final.outputs.keyframes ?? ''}`;
    for (const key of keys) expect(seen.split('|')).toContain(key);
  });

  it('ends cancelled when a cancel races a stage completion, whichever lands first, and stays cancelled', async () => {
    for (let round = 0; round < 10; round += 1) {
      const record = videoRecordFixture({ id: newId(), stages: ['keyframe', 'decode'] });
      await storeA.create(record);
      await storeA.update(record.id, (current) => stageStarted(current, 'keyframe', 1, new Date()));
      await Promise.all([
        storeA.update(record.id, (current) => stageCompleted(current, 'keyframe', { keyframes: 'k' }, new Date())),
        storeB.update(record.id, (current) => videoCancelled(current, new Date())),
      ]);
      expect((await storeA.get(record.id))?.status).toBe('cancelled');
      expect(await storeB.update(record.id, (current) => stageStarted(current, 'decode', 1, new Date()))).toBeNull();
      expect(await storeB.update(record.id, (current) => stageCompleted(current, 'decode', { frames: 'f' }, new Date()))).toBeNull();
      expect((await storeA.get(record.id))?.status).toBe('cancelled');
      expect((await storedSnapshot(record.id))?.status).toBe('cancelled');
    }
  });

  it('a cancel before the completion wins: the late completion changes nothing', async () => {
    const record = videoRecordFixture({ id: newId(), stages: ['keyframe'] });
    await storeA.create(record);
    await storeA.update(record.id, (current) => stageStarted(current, 'keyframe', 1, new Date()));
    await storeB.update(record.id, (current) => videoCancelled(current, new Date()));
    expect(await storeA.update(record.id, (current) => stageCompleted(current, 'keyframe', { keyframes: 'k' }, new Date()))).toBeNull();
    const final = await storeA.get(record.id);
    expect(final?.status).toBe('cancelled');
    expect(final?.outputs).toEqual({});
  });

  it('sets the terminal TTL on the record and its events', async () => {
    const store = new VideoStore({ redis: redisA, prefix: services.queuePrefix, artifacts, terminalTtlSeconds: 600 });
    const record = videoRecordFixture({ id: newId() });
    await store.create(record);
    expect(await redisA.ttl(`${services.queuePrefix}:video:${record.id}`)).toBe(-1);
    await store.update(record.id, (current) => videoCancelled(current, new Date()));
    for (const key of [`${services.queuePrefix}:video:${record.id}`, `${services.queuePrefix}:video:${record.id}:events`]) {
      const ttl = await redisA.ttl(key);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(600);
    }
  });

  it('returns events in order and resumes after an id', async () => {
    const record = videoRecordFixture({ id: newId(), stages: ['keyframe'] });
    await storeA.create(record);
    await storeA.update(record.id, (current) => stageStarted(current, 'keyframe', 1, new Date()));
    for (let step = 1; step <= 4; step += 1) await storeB.update(record.id, (current) => stageProgressed(current, 'keyframe', step, 4, new Date()));
    await storeA.update(record.id, (current) => stageCompleted(current, 'keyframe', {}, new Date()));

    const all = await storeA.readEvents(record.id);
    expect(all.map((event) => event.event.type)).toEqual([
      'status', 'status', 'stage.started', 'progress', 'progress', 'progress', 'progress', 'stage.completed', 'status',
    ]);
    expect(all.map((event) => event.sequence)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const resumed = await storeB.readEvents(record.id, { afterId: all[3]?.id });
    expect(resumed).toEqual(all.slice(4));
    expect(await storeB.readEvents(record.id, { afterId: all[3]?.id, count: 2 })).toEqual(all.slice(4, 6));
    expect(await storeB.readEvents(record.id, { afterId: all.at(-1)?.id })).toEqual([]);
    await expect(storeA.readEvents(record.id, { afterId: 'abc' })).rejects.toBeInstanceOf(InvalidEventId);
    await expect(storeA.readEvents(record.id, { afterId: '1-2-3' })).rejects.toBeInstanceOf(InvalidEventId);
  });

  it('waitForEvents wakes when another connection updates, and times out empty', async () => {
    const record = videoRecordFixture({ id: newId() });
    const [created] = await storeA.create(record);
    const waiting = storeA.waitForEvents(record.id, { afterId: created?.id, blockMs: 10_000 });
    // Give the XREAD a moment to block, then update from the other connection.
    await new Promise((resolve) => setTimeout(resolve, 100));
    await storeB.update(record.id, (current) => stageStarted(current, 'keyframe', 1, new Date()));
    const woken = await waiting;
    expect(woken.map((event) => event.event.type)).toEqual(['status', 'stage.started']);
    expect(woken[0]?.sequence).toBe(2);

    expect(await storeA.waitForEvents(record.id, { afterId: woken.at(-1)?.id, blockMs: 50 })).toEqual([]);
    expect(await storeA.waitForEvents(record.id, { blockMs: 50 })).toHaveLength(3);
  });

  it('waitForEvents returns empty when its signal aborts, and closes its connection', async () => {
    const record = videoRecordFixture({ id: newId() });
    const [created] = await storeA.create(record);
    const controller = new AbortController();
    const waiting = storeA.waitForEvents(record.id, { afterId: created?.id, blockMs: 30_000, signal: controller.signal });
    const waitingClients = async (): Promise<number> =>
      String(await redisA.client('LIST')).split('\n').filter((line) => line.includes(`name=video-store:events:${record.id} `)).length;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await waitingClients()).toBe(1);
    controller.abort();
    expect(await waiting).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await waitingClients()).toBe(0);
  });

  it('lists an owner’s videos newest first across pages, and filters by status', async () => {
    const owner = `owner-${newId()}`;
    const ids: string[] = [];
    for (let index = 0; index < 7; index += 1) {
      const id = newId();
      ids.push(id);
      // Two share a creation millisecond, to page through a tie.
      const now = new Date(Date.UTC(2026, 0, 1, 0, 0, index === 4 ? 3 : index));
      await storeA.create(videoRecordFixture({ id, owner, now }));
    }
    await storeA.create(videoRecordFixture({ id: newId(), owner: `${owner}-other` }));
    await storeB.update(ids[1] as string, (current) => videoCancelled(current, new Date()));
    await storeB.update(ids[5] as string, (current) => videoCancelled(current, new Date()));

    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await storeB.list(owner, { limit: 3, ...(cursor === undefined ? {} : { cursor }) });
      expect(page.videos.length).toBeLessThanOrEqual(3);
      seen.push(...page.videos.map((video) => video.id));
      cursor = page.nextCursor ?? undefined;
      pages += 1;
    } while (cursor !== undefined && pages < 10);
    expect(pages).toBe(3);
    const newestFirst = ids.map((id, index) => ({ id, at: index === 4 ? 3 : index })).sort((a, b) => b.at - a.at || (b.id < a.id ? -1 : 1));
    expect(seen).toEqual(newestFirst.map((entry) => entry.id));

    const cancelled = await storeA.list(owner, { limit: 1, status: 'cancelled' });
    expect(cancelled.videos.map((video) => video.id)).toEqual([ids[5]]);
    const rest = await storeA.list(owner, { limit: 1, status: 'cancelled', cursor: cancelled.nextCursor ?? 'none' });
    expect(rest).toEqual({ videos: [expect.objectContaining({ id: ids[1] })], nextCursor: null });
    expect((await storeA.list(owner, { limit: 100, status: 'succeeded' })).videos).toEqual([]);
    await expect(storeA.list(owner, { limit: 3, cursor: 'not-a-cursor' })).rejects.toBeInstanceOf(InvalidCursor);
    await expect(storeA.list(owner, { limit: 0 })).rejects.toBeInstanceOf(RangeError);
  });

  it('serves a record that expired from Redis from job.json, in get and in list', async () => {
    const owner = `owner-${newId()}`;
    const record = videoRecordFixture({ id: newId(), owner, stages: ['keyframe'] });
    await storeA.create(record);
    await storeA.update(record.id, (current) => stageStarted(current, 'keyframe', 1, new Date()));
    const done = await storeA.update(record.id, (current) => stageCompleted(current, 'keyframe', { keyframes: 'videos/x/keyframes.safetensors' }, new Date()));
    await redisA.del(`${services.queuePrefix}:video:${record.id}`);
    expect(await storeB.get(record.id)).toEqual(done?.record);
    expect((await storeB.list(owner, { limit: 10 })).videos).toEqual([done?.record]);
    expect((await storeB.list(owner, { limit: 10, status: 'succeeded' })).videos).toEqual([done?.record]);
    expect(await storeB.update(record.id, (current) => videoCancelled(current, new Date()))).toBeNull();
    await artifacts.putJson(record.id, 'job', { ...done?.record, status: 'running' });
    await expect(storeB.update(record.id, (current) => videoCancelled(current, new Date()))).rejects.toBeInstanceOf(VideoNotFound);
  });

  it('puts an ended video in both retention indexes with its TTL, in the same step, and takes it out again when a retry reopens it', async () => {
    const id = newId();
    await storeA.create(videoRecordFixture({ id, stages: ['keyframe'] }));
    const key = `${services.queuePrefix}:video:${id}`;
    const indexed = async () => [await storeA.dueForRetention('intermediates', new Date(Date.now() + 1000), 1000), await storeA.dueForRetention('results', new Date(Date.now() + 1000), 1000)];
    expect((await indexed()).map((ids) => ids.includes(id))).toEqual([false, false]);

    const ended = await storeA.update(id, (record) => videoCancelled(record, new Date()));
    expect((await indexed()).map((ids) => ids.includes(id))).toEqual([true, true]);
    expect(await redisA.ttl(key)).toBeGreaterThan(0);
    // scored by the end: not due before it
    expect(await storeA.dueForRetention('results', new Date(Date.parse(ended?.record.finishedAt ?? '') - 1), 1000)).not.toContain(id);

    await storeB.update(id, (record) => videoRetried(record, new Date()));
    expect((await indexed()).map((ids) => ids.includes(id))).toEqual([false, false]);
    expect(await redisA.ttl(key)).toBe(-1);
    expect((await storedSnapshot(id))?.runs).toHaveLength(2);
  });

  it('brings a record that Redis let go back from job.json when a transition changes it (a retry after the TTL)', async () => {
    const id = newId();
    await storeA.create(videoRecordFixture({ id, stages: ['keyframe'] }));
    await storeA.update(id, (record) => videoCancelled(record, new Date()));
    await redisA.del(`${services.queuePrefix}:video:${id}`);
    // a late worker transition still changes nothing, as before
    expect(await storeA.update(id, (record) => stageStarted(record, 'keyframe', 1, new Date()))).toBeNull();
    const retried = await storeB.update(id, (record) => videoRetried(record, new Date()));
    expect(retried?.record).toMatchObject({ status: 'queued' });
    expect(await storeA.get(id)).toMatchObject({ status: 'queued' });
    await expect(storeA.update(newId(), (record) => videoRetried(record, new Date()))).rejects.toBeInstanceOf(VideoNotFound);
  });
});
