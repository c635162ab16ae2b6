import { Redis } from 'ioredis';
import type { Logger } from 'pino';

/**
 * `commands`: for readiness probes and request paths. No offline queue and one retry, so a
 *   command fails at once while Redis is down instead of hanging; the connection keeps
 *   reconnecting in the background, so readiness recovers without a restart.
 * `bullmq`: for BullMQ Workers, which need `maxRetriesPerRequest: null` (their blocking
 *   commands must wait across reconnects rather than fail).
 */
export type RedisConnectionPurpose = 'commands' | 'bullmq';

export interface RedisConnectionOptions {
  purpose: RedisConnectionPurpose;
  /** Shown in CLIENT LIST, e.g. `api:readiness`. */
  connectionName?: string;
  logger?: Logger;
}

const CONNECT_TIMEOUT_MS = 2_000;
/** Reconnect forever, backing off to one attempt every 2 s. */
const reconnectDelay = (attempt: number): number => Math.min(attempt * 200, 2_000);

export function createRedisConnection(url: string, options: RedisConnectionOptions): Redis {
  const redis = new Redis(url, {
    connectionName: options.connectionName,
    connectTimeout: CONNECT_TIMEOUT_MS,
    retryStrategy: reconnectDelay,
    ...(options.purpose === 'commands'
      ? { enableOfflineQueue: false, maxRetriesPerRequest: 1 }
      : { maxRetriesPerRequest: null }),
  });
  // ioredis emits an error per failed reconnect; log each distinct failure once, then the recovery.
  let lastError: string | undefined;
  redis.on('error', (error: Error) => {
    if (error.message === lastError) return;
    lastError = error.message;
    options.logger?.warn({ err: error, connection: options.connectionName }, 'redis connection error');
  });
  redis.on('ready', () => {
    if (lastError !== undefined) options.logger?.info({ connection: options.connectionName }, 'redis connection recovered');
    lastError = undefined;
  });
  return redis;
}

/** Closes a connection: QUIT when connected, otherwise drop it (QUIT would wait for a reconnect that may never come). */
export async function closeRedisConnection(redis: Redis): Promise<void> {
  if (redis.status === 'ready') {
    await redis.quit();
    return;
  }
  redis.disconnect();
}
