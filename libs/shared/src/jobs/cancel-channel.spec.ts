import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../logging/logger';
import { startTestServices, type TestServices } from '../testing';
import { StageError } from '../worker/stage-error';
import { CancelListener, publishCancel } from './cancel-channel';

const logger = createLogger({ service: 'cancel-channel-test', level: 'silent', nodeEnv: 'test' });

function aborted(signal: AbortSignal, timeoutMs: number): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

describe('cancel channel (real Redis pub/sub)', () => {
  let services: TestServices;
  let publisher: Redis;
  let listener: CancelListener;

  beforeAll(async () => {
    services = await startTestServices();
    publisher = new Redis(services.redis.url, { maxRetriesPerRequest: 1 });
    listener = await CancelListener.start(services.redis.url, services.queuePrefix, logger);
  }, 60_000);

  afterAll(async () => {
    await listener?.close();
    await publisher?.quit();
    await services?.stop();
  });

  it('aborts every controller of the cancelled video with a StageCancelled reason, and no other', async () => {
    const first = listener.register('video-a');
    const second = listener.register('video-a');
    const other = listener.register('video-b');
    await publishCancel(publisher, services.queuePrefix, 'video-a');

    expect(await aborted(first.signal, 5_000)).toBe(true);
    expect(await aborted(second.signal, 5_000)).toBe(true);
    expect(first.signal.reason).toBeInstanceOf(StageError);
    expect((first.signal.reason as StageError).code).toBe('StageCancelled');
    expect(await aborted(other.signal, 200)).toBe(false);
    listener.release('video-b', other);
  });

  it('ignores a released controller and a cancel published under another prefix', async () => {
    const released = listener.register('video-c');
    listener.release('video-c', released);
    const watching = listener.register('video-d');
    await publishCancel(publisher, services.queuePrefix, 'video-c');
    await publishCancel(publisher, '{another-prefix}', 'video-d');
    expect(await aborted(released.signal, 300)).toBe(false);
    expect(await aborted(watching.signal, 300)).toBe(false);
  });

  it('starts from a connection as well as a URL, on a subscriber connection of its own', async () => {
    const fromConnection = await CancelListener.start(publisher, services.queuePrefix, logger);
    try {
      const controller = fromConnection.register('video-e');
      await publishCancel(publisher, services.queuePrefix, 'video-e');
      expect(await aborted(controller.signal, 5_000)).toBe(true);
      // The given connection was not turned into a subscriber: it still runs commands.
      expect(await publisher.ping()).toBe('PONG');
    } finally {
      await fromConnection.close();
    }
  });
});
