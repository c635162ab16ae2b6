import type { S3Client } from '@aws-sdk/client-s3';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArtifactStore } from '../storage/artifact-store';
import { createS3Client } from '../storage/s3-client';
import { startTestServices, type TestServices } from '../testing';
import { parseOutboxEntry, webhookOutboxKey, type WebhookDelivery } from '../webhooks/webhook-outbox-entry';
import { runVideoToSuccess } from '../webhooks/video-run.fixture';
import { videoRecordFixture } from './video-record.fixture';
import { VideoStore } from './video-store';
import { videoCancelled } from './video-transitions';

describe('VideoStore webhook outbox (real Redis)', () => {
  let services: TestServices;
  let s3: S3Client;
  let redis: Redis;
  let store: VideoStore;
  let counter = 0;
  const newId = (): string => `vid-${Date.now().toString(36)}-${(counter += 1)}`;

  beforeAll(async () => {
    services = await startTestServices();
    const { endpoint, region, accessKeyId, secretAccessKey } = services.s3;
    s3 = createS3Client({ endpoint, region, credentials: { accessKeyId, secretAccessKey }, forcePathStyle: true });
    redis = new Redis(services.redis.url, { maxRetriesPerRequest: 1 });
    store = new VideoStore({ redis, prefix: services.queuePrefix, artifacts: new ArtifactStore(s3, services.s3.bucket) });
  }, 60_000);

  afterAll(async () => {
    await redis?.quit();
    s3?.destroy();
    await services?.stop();
  });

  async function outboxOf(videoId: string): Promise<WebhookDelivery[]> {
    const entries = await redis.xrange(webhookOutboxKey(services.queuePrefix), '-', '+');
    return entries.map(([, fields]) => parseOutboxEntry(fields)).filter((delivery): delivery is WebhookDelivery => delivery?.videoId === videoId);
  }

  it('puts each webhook event of a subscribed video in the outbox, in sequence order, with the URL and owner', async () => {
    const id = newId();
    await store.create(videoRecordFixture({ id, owner: 'alice', stages: ['keyframe', 'decode'] }), { url: 'https://example.com/hook' });
    await runVideoToSuccess(store, id, { steps: 2 });
    const outbox = await outboxOf(id);
    expect(outbox.map((delivery) => delivery.type)).toEqual([
      'video.queued',
      'video.started',
      'video.stage.completed',
      'video.stage.completed',
      'video.succeeded',
    ]);
    const sequences = outbox.map((delivery) => delivery.sequence);
    expect(sequences).toEqual([...sequences].sort((a, b) => a - b));
    expect(outbox.every((delivery) => delivery.url === 'https://example.com/hook' && delivery.owner === 'alice')).toBe(true);
    expect(outbox.map((delivery) => delivery.deliveryId)).toEqual(sequences.map((sequence) => `${id}.${sequence}`));
    expect((await store.get(id))?.webhookUrl).toBe('https://example.com/hook');
  });

  it('keeps only the filtered types, and nothing for a video without a webhook', async () => {
    const filtered = newId();
    const plain = newId();
    await store.create(videoRecordFixture({ id: filtered, stages: ['keyframe'] }), { url: 'https://example.com/a', events: ['video.succeeded', 'video.cancelled'] });
    await store.create(videoRecordFixture({ id: plain, stages: ['keyframe'] }));
    await runVideoToSuccess(store, filtered);
    await runVideoToSuccess(store, plain);
    expect((await outboxOf(filtered)).map((delivery) => delivery.type)).toEqual(['video.succeeded']);
    expect(await outboxOf(plain)).toEqual([]);
  });

  it('throttles video.progress to one per interval per video', async () => {
    const id = newId();
    await store.create(videoRecordFixture({ id, stages: ['keyframe'] }), { url: 'https://example.com/p', progressIntervalMs: 2500 });
    // one simulated second per change: started, 10 steps, completed
    await runVideoToSuccess(store, id, { steps: 10 });
    const progress = (await outboxOf(id)).filter((delivery) => delivery.type === 'video.progress');
    const times = progress.map((delivery) => Date.parse(delivery.at));
    expect(progress.length).toBe(4);
    for (let index = 1; index < times.length; index += 1) expect((times[index] ?? 0) - (times[index - 1] ?? 0)).toBeGreaterThanOrEqual(2500);
  });

  it('reports a cancel, and sends no progress when no interval is set', async () => {
    const id = newId();
    await store.create(videoRecordFixture({ id, stages: ['keyframe'] }), { url: 'https://example.com/c' });
    await store.update(id, (current) => videoCancelled(current, new Date('2026-01-01T00:01:00.000Z')));
    expect((await outboxOf(id)).map((delivery) => delivery.type)).toEqual(['video.queued', 'video.cancelled']);
  });
});
