import { Queue } from 'bullmq';
import { register } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServices, type TestServices } from '../testing/test-services';
import { registerQueueDepthMetrics } from './queue-metrics';

describe('queue depth metrics (real Redis, read at scrape time)', () => {
  let services: TestServices;
  let waiting: Queue;
  let empty: Queue;
  const now = Date.now();

  beforeAll(async () => {
    services = await startTestServices();
    const connection = { url: services.redis.url };
    waiting = new Queue('keyframe', { connection, prefix: services.queuePrefix });
    empty = new Queue('decode', { connection, prefix: services.queuePrefix });
    registerQueueDepthMetrics([waiting, empty], () => now + 90_000);
  }, 60_000);

  afterAll(async () => {
    await waiting?.close();
    await empty?.close();
    await services?.stop();
  });

  it('reports jobs by queue and state, and the oldest waiting job\'s age, as Redis has them when scraped', async () => {
    await waiting.add('a', {}, { timestamp: now - 30_000 });
    await waiting.add('b', {}, { timestamp: now });
    await waiting.add('later', {}, { delay: 60_000 });
    const text = await register.metrics();
    expect(text).toContain('magicvideo_queue_jobs{queue="keyframe",state="waiting"} 2');
    expect(text).toContain('magicvideo_queue_jobs{queue="keyframe",state="delayed"} 1');
    expect(text).toContain('magicvideo_queue_jobs{queue="decode",state="waiting"} 0');
    expect(text).toContain('magicvideo_queue_oldest_waiting_seconds{queue="keyframe"} 120');
    expect(text).toContain('magicvideo_queue_oldest_waiting_seconds{queue="decode"} 0');

    await waiting.drain(true);
    const drained = await register.metrics();
    expect(drained).toContain('magicvideo_queue_jobs{queue="keyframe",state="waiting"} 0');
  });

  it('counts a prioritised job under prioritized, not waiting: BullMQ keeps it in a sorted set, not the wait list', async () => {
    await empty.add('plain', {});
    await empty.add('urgent', {}, { priority: 1 });
    const text = await register.metrics();
    expect(text).toContain('magicvideo_queue_jobs{queue="decode",state="waiting"} 1');
    expect(text).toContain('magicvideo_queue_jobs{queue="decode",state="prioritized"} 1');
    await empty.drain(true);
  });

  it('ages the oldest waiting job among prioritised ones too (stage jobs all carry a priority)', async () => {
    await empty.add('urgent-new', {}, { priority: 1, timestamp: now + 60_000 });
    await empty.add('routine-old', {}, { priority: 5, timestamp: now + 30_000 });
    const text = await register.metrics();
    // the clock reads now + 90 s: the routine job, second in priority order, is the oldest (60 s)
    expect(text).toContain('magicvideo_queue_oldest_waiting_seconds{queue="decode"} 60');
    await empty.drain(true);
  });
});
