import { hostname } from 'node:os';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  type ApiConfig,
  type ArtifactStore,
  closeRedisConnection,
  createRedisConnection,
  type Logger,
  startWebhookDispatcher,
  VideoWebhooks,
  type VideoStore,
  WebhookAttemptLog,
  WebhookRelay,
} from '@magicvideo/shared';

/**
 * Webhook delivery in the API process (issue 6): the outbox relay and the `webhooks` worker,
 * each on a connection of its own (both block), and the service behind the attempt routes.
 */
export interface WebhookDelivery {
  videoWebhooks: VideoWebhooks;
  close(): Promise<void>;
}

export async function startWebhookDelivery(input: {
  config: ApiConfig;
  redis: Redis;
  store: VideoStore;
  artifacts: ArtifactStore;
  queue: Queue;
  logger: Logger;
}): Promise<WebhookDelivery> {
  const { config, redis, store, artifacts, queue, logger } = input;
  const webhooks = config.webhooks;
  const attemptLog = new WebhookAttemptLog(redis, config.queuePrefix);
  const relayRedis = createRedisConnection(config.redisUrl, { purpose: 'bullmq', connectionName: 'api:webhook-relay', logger });
  const workerRedis = createRedisConnection(config.redisUrl, { purpose: 'bullmq', connectionName: 'api:webhooks', logger });
  const relay = new WebhookRelay({
    blockingRedis: relayRedis,
    redis,
    prefix: config.queuePrefix,
    queue,
    attemptLog,
    attempts: webhooks.maxAttempts,
    consumer: `api-${hostname()}-${process.pid}`,
    logger,
  });
  await relay.start();
  const worker = startWebhookDispatcher({
    connection: workerRedis,
    prefix: config.queuePrefix,
    store,
    artifacts,
    attemptLog,
    keys: webhooks.keys,
    policy: webhooks.policy,
    timeoutMs: webhooks.timeoutMs,
    backoff: webhooks.backoff,
    concurrency: webhooks.concurrency,
    presignExpirySeconds: config.presignExpirySeconds,
    logger,
  });
  return {
    videoWebhooks: new VideoWebhooks({ store, attemptLog, queue, maxAttempts: webhooks.maxAttempts }),
    async close() {
      await relay.close();
      await worker.close();
      await closeRedisConnection(workerRedis);
    },
  };
}
