import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { FlowProducer, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STAGE_NAMES, type StageName } from '../contracts/queue-names';
import { VideoStore } from '../jobs/video-store';
import { stageStarted, videoFailed } from '../jobs/video-transitions';
import { manifestSchema } from '../model-folder/manifest';
import { ArtifactStore } from '../storage/artifact-store';
import { createS3Client } from '../storage/s3-client';
import { REPO_ROOT } from '../testing/app-process';
import { startTestServices, type TestServices } from '../testing/test-services';
import { VideoService, type VideoServiceOptions, type VideoStreamItem } from './video-service';

/**
 * The service on real Redis and S3, for what the HTTP tests cannot reach in reasonable time:
 * keep-alives during a quiet stream, a stream ended by its signal, a flow Redis refuses.
 */

describe('VideoService', () => {
  let services: TestServices;
  let redis: Redis;
  let options: Omit<VideoServiceOptions, 'eventsBlockMs'>;
  let flowProducer: FlowProducer;
  let queues: Record<StageName, Queue>;
  let s3: ReturnType<typeof createS3Client>;

  beforeAll(async () => {
    services = await startTestServices();
    redis = new Redis(services.redis.url, { maxRetriesPerRequest: 1 });
    s3 = createS3Client({ ...services.s3, credentials: services.s3 });
    const artifacts = new ArtifactStore(s3, services.s3.bucket);
    const manifestJson = await readFile(path.join(REPO_ROOT, 'assets/models/magicvideo-shapes/model_index.json'), 'utf8');
    flowProducer = new FlowProducer({ connection: redis, prefix: services.queuePrefix });
    queues = Object.fromEntries(STAGE_NAMES.map((stage) => [stage, new Queue(stage, { connection: redis, prefix: services.queuePrefix })])) as Record<
      StageName,
      Queue
    >;
    options = {
      store: new VideoStore({ redis, prefix: services.queuePrefix, artifacts }),
      artifacts,
      flowProducer,
      queues,
      redis,
      queuePrefix: services.queuePrefix,
      manifest: manifestSchema.parse(JSON.parse(manifestJson)),
      presignExpirySeconds: 60,
      attempts: 1,
      backoffMs: 10,
    };
  });

  afterAll(async () => {
    await flowProducer?.close();
    await Promise.all(Object.values(queues ?? {}).map((queue) => queue.close()));
    await redis?.quit();
    s3?.destroy();
    await services?.stop();
  });

  async function next(items: AsyncIterator<VideoStreamItem>): Promise<VideoStreamItem | 'end'> {
    const result = await items.next();
    return result.done ? 'end' : result.value;
  }

  it('sends a keep-alive after each quiet wait, then the next event, and ends after the final status', async () => {
    const service = new VideoService({ ...options, eventsBlockMs: 50 });
    const { id } = await service.submit('alice', { prompt: 'quiet', interpolate: false, super_resolution: false });
    const items = (await service.events('alice', id, undefined, new AbortController().signal))[Symbol.asyncIterator]();
    expect(await next(items)).toMatchObject({ kind: 'event', event: { sequence: 1, event: { type: 'status', status: 'queued' } } });
    // while it waits, its place in the first stage's queue (sent again only when it changes)
    expect(await next(items)).toMatchObject({ kind: 'queue', videoId: id, queue: { stage: 'keyframe' } });
    expect(await next(items)).toEqual({ kind: 'keep-alive' });

    await options.store.update(id, (record) => stageStarted(record, 'keyframe', 1, new Date()));
    let item = await next(items);
    while (item !== 'end' && item.kind === 'keep-alive') item = await next(items);
    expect(item).toMatchObject({ kind: 'event', event: { event: { type: 'status', status: 'running' } } });
    expect(await next(items)).toMatchObject({ kind: 'event', event: { event: { type: 'stage.started', stage: 'keyframe' } } });

    await options.store.update(id, (record) => videoFailed(record, { code: 'ModelError', message: 'boom', stage: 'keyframe' }, new Date()));
    item = await next(items);
    while (item !== 'end' && item.kind === 'keep-alive') item = await next(items);
    expect(item).toMatchObject({ kind: 'event', event: { event: { type: 'status', status: 'failed' } } });
    expect(await next(items)).toBe('end');
  });

  it('ends a waiting stream when its signal aborts, long before the wait would', async () => {
    // a wait longer than the test's timeout: only the abort can end it in time
    const service = new VideoService({ ...options, eventsBlockMs: 600_000 });
    const { id } = await service.submit('alice', { prompt: 'abandoned' });
    const controller = new AbortController();
    const items = (await service.events('alice', id, undefined, controller.signal))[Symbol.asyncIterator]();
    expect(await next(items)).toMatchObject({ kind: 'event' });
    expect(await next(items)).toMatchObject({ kind: 'queue' });
    const waiting = next(items);
    setTimeout(() => controller.abort(), 100);
    expect(await waiting).toBe('end');
  });

  it('marks the video failed when Redis refuses its flow, so it is not left queued', async () => {
    const unreachable = new Redis('redis://127.0.0.1:1', { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    unreachable.on('error', () => undefined);
    const refusing = new FlowProducer({ connection: unreachable, prefix: services.queuePrefix });
    const service = new VideoService({ ...options, flowProducer: refusing, idGenerator: () => 'vid_refused' });
    await expect(service.submit('alice', { prompt: 'lost' })).rejects.toThrow();
    const record = await options.store.get('vid_refused');
    expect(record).toMatchObject({ status: 'failed', error: { code: 'EnqueueFailed' } });
    await refusing.close();
    unreachable.disconnect();
  });
});
