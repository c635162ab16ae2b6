import type { S3Client } from '@aws-sdk/client-s3';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { videoRecordFixture } from '../jobs/video-record.fixture';
import { VideoStore } from '../jobs/video-store';
import { ArtifactStore } from '../storage/artifact-store';
import { createS3Client } from '../storage/s3-client';
import { startTestServices, type TestServices } from '../testing';
import { runVideoToSuccess } from './video-run.fixture';
import { WebhookAttemptLog } from './webhook-attempt-log';
import { WEBHOOK_QUEUE } from './webhook-dispatcher';
import { parseOutboxEntry, webhookOutboxKey } from './webhook-outbox-entry';
import { WEBHOOK_RELAY_GROUP, WebhookRelay, webhookJobOptions } from './webhook-relay';

/** The relay's crash safety on real Redis: a dead consumer's entries are taken over, and nothing is queued twice. */
describe('WebhookRelay (real Redis)', () => {
  const logger = pino({ level: 'silent' });
  let services: TestServices;
  let s3: S3Client;
  let redis: Redis;
  let store: VideoStore;
  let queue: Queue;

  beforeAll(async () => {
    services = await startTestServices();
    const { endpoint, region, accessKeyId, secretAccessKey } = services.s3;
    s3 = createS3Client({ endpoint, region, credentials: { accessKeyId, secretAccessKey }, forcePathStyle: true });
    redis = new Redis(services.redis.url, { maxRetriesPerRequest: 1 });
    store = new VideoStore({ redis, prefix: services.queuePrefix, artifacts: new ArtifactStore(s3, services.s3.bucket) });
    queue = new Queue(WEBHOOK_QUEUE, { connection: redis, prefix: services.queuePrefix });
  }, 60_000);

  afterAll(async () => {
    await queue?.close();
    await redis?.quit();
    s3?.destroy();
    await services?.stop();
  });

  it('takes over the entries a dead relay read, queues each delivery once even when one was already added, and empties the outbox', async () => {
    const key = webhookOutboxKey(services.queuePrefix);
    await redis.xgroup('CREATE', key, WEBHOOK_RELAY_GROUP, '0', 'MKSTREAM');
    const id = `vid-${Date.now().toString(36)}`;
    await store.create(videoRecordFixture({ id, owner: 'alice', stages: ['keyframe'] }), { url: 'https://example.com/hook' });
    await runVideoToSuccess(store, id);

    // A relay that read every entry and died: one delivery it had already queued, none acknowledged.
    const read = (await redis.call('XREADGROUP', 'GROUP', WEBHOOK_RELAY_GROUP, 'dead-relay', 'COUNT', 100, 'STREAMS', key, '>')) as unknown[];
    // RESP2 `[[key, entries]]`, or RESP3's map flattened to `[key, entries]`
    const entries = (Array.isArray(read[0]) ? (read[0] as unknown[])[1] : read[1]) as [string, string[]][];
    expect(entries.length).toBe(4);
    const first = parseOutboxEntry(entries[0]?.[1] ?? []);
    if (first === undefined) throw new Error('unparsable outbox entry');
    await queue.add(first.type, first, webhookJobOptions(first, 3));

    const blocking = new Redis(services.redis.url, { maxRetriesPerRequest: null });
    const relay = new WebhookRelay({
      blockingRedis: blocking,
      redis,
      prefix: services.queuePrefix,
      queue,
      attemptLog: new WebhookAttemptLog(redis, services.queuePrefix),
      attempts: 3,
      consumer: 'live-relay',
      logger,
      claimIdleMs: 100,
      blockMs: 100,
    });
    await new Promise((resolve) => setTimeout(resolve, 150));
    await relay.start();
    const deadline = Date.now() + 10_000;
    while ((await redis.xlen(key)) > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    await relay.close();

    expect(await redis.xlen(key)).toBe(0);
    const jobs = await queue.getJobs(['waiting', 'delayed', 'active', 'completed', 'failed']);
    const ids = jobs.map((job) => job.id).filter((jobId) => jobId?.startsWith(`${id}.`)).sort();
    expect(ids).toEqual(entries.map(([, fields]) => parseOutboxEntry(fields)?.deliveryId).sort());
    const pending = (await redis.call('XPENDING', key, WEBHOOK_RELAY_GROUP)) as [number, ...unknown[]];
    expect(pending[0]).toBe(0);
  });
});
