import { Redis } from 'ioredis';
import type { Logger } from '../logging/logger';
import { StageError } from '../worker/stage-error';

/**
 * DESIGN.md §3, cancel: `worker.cancelJob()` reaches only the jobs active in that worker process,
 * so the API publishes each cancel on Redis pub/sub and every worker turns the message into the
 * running job's AbortSignal. A message is only a wake-up: a worker that starts a job after the
 * message went out learns of the cancel from the video record, which the API marks first.
 */
export function cancelChannel(prefix: string): string {
  return `${prefix}:cancel`;
}

export async function publishCancel(redis: Redis, prefix: string, videoId: string): Promise<void> {
  await redis.publish(cancelChannel(prefix), videoId);
}

/** The abort reason of a cancelled stage: a non-retryable StageError, so the processor can throw it as is. */
export function stageCancelledReason(videoId: string): StageError {
  return new StageError('StageCancelled', `video ${videoId} was cancelled`);
}

/** One subscriber connection per process; any number of running jobs (of any videos) registered on it. */
export class CancelListener {
  private readonly controllers = new Map<string, Set<AbortController>>();

  private constructor(
    private readonly subscriber: Redis,
    private readonly channel: string,
    private readonly logger: Logger,
  ) {}

  /** Subscribes on a connection of its own (a subscribed connection can run no other command): a new one from a URL, or a duplicate of the given one. */
  static async start(redisUrlOrConnection: string | Redis, prefix: string, logger: Logger): Promise<CancelListener> {
    const subscriber =
      typeof redisUrlOrConnection === 'string'
        ? new Redis(redisUrlOrConnection, { connectionName: 'cancel-listener', maxRetriesPerRequest: null })
        : redisUrlOrConnection.duplicate({ connectionName: 'cancel-listener', enableOfflineQueue: true, maxRetriesPerRequest: null });
    subscriber.on('error', (error: Error) => logger.warn({ err: error }, 'cancel listener connection error'));
    const listener = new CancelListener(subscriber, cancelChannel(prefix), logger);
    subscriber.on('message', (channel: string, videoId: string) => {
      if (channel === listener.channel) listener.cancel(videoId);
    });
    try {
      await subscriber.subscribe(listener.channel);
    } catch (error) {
      subscriber.disconnect();
      throw error;
    }
    return listener;
  }

  /** A controller aborted (reason: a StageCancelled StageError) when a cancel for this video arrives. */
  register(videoId: string): AbortController {
    const controller = new AbortController();
    let registered = this.controllers.get(videoId);
    if (registered === undefined) {
      registered = new Set();
      this.controllers.set(videoId, registered);
    }
    registered.add(controller);
    return controller;
  }

  /** Call when the job ends, so the controller is not kept for ever. */
  release(videoId: string, controller: AbortController): void {
    const registered = this.controllers.get(videoId);
    if (registered === undefined) return;
    registered.delete(controller);
    if (registered.size === 0) this.controllers.delete(videoId);
  }

  async close(): Promise<void> {
    this.controllers.clear();
    if (this.subscriber.status === 'ready') await this.subscriber.quit();
    else this.subscriber.disconnect();
  }

  private cancel(videoId: string): void {
    const registered = this.controllers.get(videoId);
    if (registered === undefined) return;
    this.logger.info({ videoId, jobs: registered.size }, 'cancel received');
    for (const controller of registered) controller.abort(stageCancelledReason(videoId));
  }
}
