import { randomBytes } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { Queue, type Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { videoRecordFixture } from '../jobs/video-record.fixture';
import { VideoStore } from '../jobs/video-store';
import { ArtifactStore } from '../storage/artifact-store';
import { createS3Client } from '../storage/s3-client';
import { startTestServices, type TestServices } from '../testing';
import { runVideoToSuccess } from './video-run.fixture';
import { WebhookAttemptLog } from './webhook-attempt-log';
import { startWebhookDispatcher, WEBHOOK_QUEUE } from './webhook-dispatcher';
import { startWebhookReceiver, type WebhookReceiver } from '../testing/webhook-receiver';
import { WebhookRelay } from './webhook-relay';

/**
 * The whole delivery path on real Redis and S3 with a real receiver on loopback: VideoStore's
 * outbox → relay → `webhooks` queue → delivery worker → signed POST. Videos are driven through
 * the store as the stage workers would drive them.
 */
describe('webhook delivery (real Redis, a real receiver)', () => {
  const secret = `whsec_${randomBytes(24).toString('base64')}`;
  const logger = pino({ level: 'silent' });
  let services: TestServices;
  let s3: S3Client;
  let redis: Redis;
  let blocking: Redis;
  let workerRedis: Redis;
  let store: VideoStore;
  let attemptLog: WebhookAttemptLog;
  let queue: Queue;
  let relay: WebhookRelay;
  let worker: Worker;
  let receiver: WebhookReceiver | undefined;
  let counter = 0;
  const newId = (): string => `vid-${Date.now().toString(36)}-${(counter += 1)}`;

  beforeAll(async () => {
    services = await startTestServices();
    const { endpoint, region, accessKeyId, secretAccessKey } = services.s3;
    s3 = createS3Client({ endpoint, region, credentials: { accessKeyId, secretAccessKey }, forcePathStyle: true });
    const artifacts = new ArtifactStore(s3, services.s3.bucket);
    redis = new Redis(services.redis.url, { maxRetriesPerRequest: 1 });
    blocking = new Redis(services.redis.url, { maxRetriesPerRequest: null });
    workerRedis = new Redis(services.redis.url, { maxRetriesPerRequest: null });
    const prefix = services.queuePrefix;
    store = new VideoStore({ redis, prefix, artifacts });
    attemptLog = new WebhookAttemptLog(redis, prefix);
    queue = new Queue(WEBHOOK_QUEUE, { connection: redis, prefix });
    relay = new WebhookRelay({ blockingRedis: blocking, redis, prefix, queue, attemptLog, attempts: 8, consumer: 'test-relay', logger, blockMs: 200 });
    await relay.start();
    worker = startWebhookDispatcher({
      connection: workerRedis,
      prefix,
      store,
      artifacts,
      attemptLog,
      keys: { alice: { secrets: [secret] } },
      policy: { allowLoopback: true, requireHttps: false },
      timeoutMs: 2000,
      backoff: { baseMs: 200, maxMs: 1000 },
      // one at a time: deliveries arrive in the order they were queued
      concurrency: 1,
      presignExpirySeconds: 600,
      logger,
    });
  }, 60_000);

  afterEach(async () => {
    await receiver?.stop();
    receiver = undefined;
  });

  afterAll(async () => {
    await worker?.close();
    await relay?.close();
    await queue?.close();
    await workerRedis?.quit();
    await redis?.quit();
    s3?.destroy();
    await services?.stop();
  });

  async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async function submitAndRun(url: string, stages: ('keyframe' | 'decode')[] = ['keyframe', 'decode']): Promise<string> {
    const id = newId();
    await store.create(videoRecordFixture({ id, owner: 'alice', stages }), { url });
    await runVideoToSuccess(store, id, { steps: 2 });
    return id;
  }

  it('delivers every event of a successful video once by webhook-id, verified, in sequence order', async () => {
    receiver = await startWebhookReceiver(secret);
    const id = await submitAndRun(receiver.url);
    await waitFor(() => receiver?.accepted().some((entry) => entry.verified?.type === 'video.succeeded') ?? false, 'video.succeeded');
    const mine = receiver.received.filter((entry) => entry.verified?.data.video_id === id);
    expect(mine.every((entry) => entry.verified !== undefined)).toBe(true);
    expect(mine.map((entry) => entry.verified?.type)).toEqual(['video.queued', 'video.started', 'video.stage.completed', 'video.stage.completed', 'video.succeeded']);
    expect(new Set(mine.map((entry) => entry.id)).size).toBe(mine.length);
    const sequences = mine.map((entry) => entry.verified?.data.sequence ?? 0);
    expect(sequences).toEqual([...sequences].sort((a, b) => a - b));
    expect(mine.map((entry) => entry.id)).toEqual(sequences.map((sequence) => `${id}.${sequence}`));
    const succeeded = mine.at(-1)?.verified?.data as unknown as { videos: { format: string; url: string }[] };
    expect(succeeded.videos.map((video) => video.format)).toEqual(['mp4']);
    expect(succeeded.videos[0]?.url).toContain(`videos/${id}/video.mp4`);
    const attempts = await attemptLog.attempts(id);
    expect(attempts.map((attempt) => [attempt.outcome, attempt.statusCode, attempt.attempt])).toEqual(mine.map(() => ['success', 204, 1]));
  });

  it('gets an event on the third attempt when the receiver answers 500 twice, with the same webhook-id each time', async () => {
    receiver = await startWebhookReceiver(secret);
    const failuresOf = new Map<string, number>();
    receiver.answer = ({ id }) => {
      if (!id.endsWith('.1')) return 200;
      const failures = failuresOf.get(id) ?? 0;
      failuresOf.set(id, failures + 1);
      return failures < 2 ? 500 : 200;
    };
    const id = newId();
    await store.create(videoRecordFixture({ id, owner: 'alice', stages: ['keyframe'] }), { url: receiver.url });
    await waitFor(async () => (await attemptLog.attempts(id)).some((attempt) => attempt.outcome === 'success'), 'the third attempt');
    const tries = receiver.received.filter((entry) => entry.id === `${id}.1`);
    expect(tries.map((entry) => entry.status)).toEqual([500, 500, 200]);
    expect(tries.every((entry) => entry.verified?.type === 'video.queued')).toBe(true);
    expect((await attemptLog.attempts(id)).map((attempt) => [attempt.attempt, attempt.statusCode, attempt.outcome])).toEqual([
      [1, 500, 'retry'],
      [2, 500, 'retry'],
      [3, 200, 'success'],
    ]);
  });

  it('delivers everything once a receiver that was down comes back', async () => {
    receiver = await startWebhookReceiver(secret);
    await receiver.stop();
    const id = await submitAndRun(receiver.url);
    await waitFor(async () => (await attemptLog.attempts(id)).filter((attempt) => attempt.outcome === 'retry').length >= 3, 'failed attempts while down');
    await receiver.start();
    const acceptedOfVideo = () => receiver?.accepted().filter((entry) => entry.verified?.data.video_id === id) ?? [];
    await waitFor(() => new Set(acceptedOfVideo().map((entry) => entry.id)).size === 5, 'all deliveries after the outage');
    // retried deliveries may overtake each other: a receiver orders by sequence
    const mine = acceptedOfVideo().sort((a, b) => (a.verified?.data.sequence ?? 0) - (b.verified?.data.sequence ?? 0));
    expect(mine.map((entry) => entry.verified?.type)).toEqual(['video.queued', 'video.started', 'video.stage.completed', 'video.stage.completed', 'video.succeeded']);
    expect(new Set(mine.map((entry) => entry.id)).size).toBe(5);
    expect((await attemptLog.attempts(id)).some((attempt) => attempt.statusCode === null && attempt.error !== null)).toBe(true);
  });

  it('sends nothing more to a receiver that answered 410', async () => {
    receiver = await startWebhookReceiver(secret);
    receiver.answer = () => 410;
    const id = await submitAndRun(receiver.url);
    await waitFor(async () => (await attemptLog.attempts(id)).some((attempt) => attempt.outcome === 'gone'), 'the 410');
    // every other delivery of the video is settled without a request
    await waitFor(async () => (await queue.getJobCounts('waiting', 'active', 'delayed')).waiting === 0, 'the queue to drain');
    await waitFor(async () => {
      const counts = await queue.getJobCounts('waiting', 'active', 'delayed');
      return counts.waiting === 0 && counts.active === 0 && counts.delayed === 0;
    }, 'no delivery left');
    expect(receiver.received.map((entry) => [entry.id, entry.status])).toEqual([[`${id}.1`, 410]]);
    expect((await attemptLog.attempts(id)).map((attempt) => attempt.outcome)).toEqual(['gone']);
  });

  it('refuses, at delivery, a URL that is not allowed, without retrying', async () => {
    const id = newId();
    await store.create(videoRecordFixture({ id, owner: 'alice', stages: ['keyframe'] }), { url: 'http://169.254.169.254/latest' });
    await waitFor(async () => (await attemptLog.attempts(id)).length > 0, 'the refused attempt');
    const [attempt] = await attemptLog.attempts(id);
    expect(attempt).toMatchObject({ outcome: 'failed', statusCode: null });
    expect(attempt?.error).toMatch(/169\.254\.169\.254/);
  });
});
