import { TRANSIENT_NETWORK_ERROR_CODES } from '../network/network-error-codes';

/**
 * Whether a Redis failure may pass by itself (DESIGN.md §3: a stage retries transient storage
 * and Redis errors with backoff): the connection is down or reconnecting, or the server is
 * loading, failing over or busy. A script error or a wrong type is a bug, not transient.
 */


/** What ioredis says while its connection is down (commands connections have no offline queue). */
const CONNECTION_MESSAGES = ['Connection is closed', "Stream isn't writeable", 'enableOfflineQueue', 'Command timed out'];

/** Server replies that mean "not now" (RESP error prefixes). */
const RETRYABLE_REPLY_PREFIXES = ['LOADING', 'BUSY', 'TRYAGAIN', 'CLUSTERDOWN', 'MASTERDOWN', 'READONLY'];

export function isTransientRedisError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === 'MaxRetriesPerRequestError') return true;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && TRANSIENT_NETWORK_ERROR_CODES.has(code)) return true;
  if (CONNECTION_MESSAGES.some((message) => error.message.includes(message))) return true;
  if (error.name === 'ReplyError' && RETRYABLE_REPLY_PREFIXES.some((prefix) => error.message.startsWith(prefix))) return true;
  return false;
}
