/**
 * DESIGN.md §3 (contract): every BullMQ key starts with one prefix that carries a Redis Cluster
 * hash tag, so all keys of all our queues hash to one slot (BullMQ's Lua scripts touch several
 * keys at once, and a cluster refuses multi-key scripts across slots).
 */
export const DEFAULT_QUEUE_PREFIX = '{mv}';

/**
 * Redis Cluster hashes only the part between the first `{` and the first `}` after it, and
 * only when that part is non-empty; otherwise the whole key is hashed.
 * Returns the hash tag's content, or undefined when the string has no effective hash tag.
 */
export function hashTagOf(key: string): string | undefined {
  const open = key.indexOf('{');
  if (open === -1) return undefined;
  const close = key.indexOf('}', open + 1);
  if (close === -1 || close === open + 1) return undefined;
  return key.slice(open + 1, close);
}

/** A queue prefix is valid when it has a non-empty hash tag and no `:` (BullMQ's key separator). */
export function isValidQueuePrefix(prefix: string): boolean {
  return hashTagOf(prefix) !== undefined && !prefix.includes(':');
}
