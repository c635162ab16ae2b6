import { createHash, randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { RedisScript } from '../redis/redis-script';

/**
 * IETF draft "The Idempotency-Key HTTP Header Field": the key is a string of printable ASCII.
 * Clients send it bare (`abc-123`) or as a Structured Field string (`"abc-123"`); see parseIdempotencyKeyHeader.
 */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x20-\x7E]{1,255}$/;

/** The header's value as the key: an sf-string's quotes and escapes removed, or the bare value; undefined when invalid. */
export function parseIdempotencyKeyHeader(value: string): string | undefined {
  const trimmed = value.trim();
  let key = trimmed;
  if (trimmed.startsWith('"')) {
    const quoted = /^"((?:[\x20-\x21\x23-\x5B\x5D-\x7E]|\\["\\])*)"$/.exec(trimmed);
    if (!quoted) return undefined;
    key = (quoted[1] ?? '').replace(/\\(["\\])/g, '$1');
  }
  return IDEMPOTENCY_KEY_PATTERN.test(key) ? key : undefined;
}

export interface StoredResponse {
  statusCode: number;
  headers: Record<string, string>;
  /** Stored as JSON: anything JSON.stringify keeps. */
  body: unknown;
}

export type IdempotencyOutcome =
  /** First request with this key: run it, then commit its response (or abandon on a 5xx or exception so a retry runs again). */
  | { kind: 'proceed'; commit(response: StoredResponse): Promise<void>; abandon(): Promise<void> }
  /** Same key and body, finished: answer the first response again. */
  | { kind: 'replay'; response: StoredResponse }
  /** Same key, the first request still in flight: 409 IdempotencyKeyInUse. */
  | { kind: 'conflict' }
  /** Same key, different body: 422 IdempotencyKeyReused. */
  | { kind: 'mismatch' };

export interface IdempotencyStoreOptions {
  redis: Redis;
  /** The queue prefix (e.g. `{mv}`), so these keys share its Redis Cluster slot and test isolation. */
  prefix: string;
  /** How long a finished response is replayed. */
  ttlSeconds: number;
  /** How long a claim lives without commit or abandon, so a crashed request frees its key. Default 60. */
  inFlightTtlSeconds?: number;
}

const storedResponseSchema = z.object({
  statusCode: z.number().int().min(100).max(599),
  headers: z.record(z.string(), z.string()),
  body: z.unknown(),
});

const entrySchema = z.discriminatedUnion('state', [
  z.object({ state: z.literal('in-flight'), fingerprint: z.string(), claim: z.string() }),
  z.object({ state: z.literal('done'), fingerprint: z.string(), response: storedResponseSchema }),
]);

/** Claims the key when free (returns nil), else returns the entry there. Atomic, so two requests never both proceed. */
const claimScript = new RedisScript(`
local existing = redis.call('GET', KEYS[1])
if existing then return existing end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return false
`);

/**
 * Stores the response unless another request holds the key: our claim may have expired and been
 * taken by a retry, whose outcome is then the one to keep.
 */
const commitScript = new RedisScript(`
local existing = redis.call('GET', KEYS[1])
if existing and cjson.decode(existing).claim ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1
`);

/** Frees the key only while our own claim holds it. */
const abandonScript = new RedisScript(`
local existing = redis.call('GET', KEYS[1])
if existing and cjson.decode(existing).claim == ARGV[1] then redis.call('DEL', KEYS[1]) return 1 end
return 0
`);

/** Idempotency keys per owner (API key id) in Redis, with the IETF draft's replay / 409 / 422 semantics. */
export class IdempotencyStore {
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly ttlSeconds: number;
  private readonly inFlightTtlSeconds: number;

  constructor(options: IdempotencyStoreOptions) {
    this.redis = options.redis;
    this.prefix = options.prefix;
    this.ttlSeconds = positiveSeconds(options.ttlSeconds, 'ttlSeconds');
    this.inFlightTtlSeconds = positiveSeconds(options.inFlightTtlSeconds ?? 60, 'inFlightTtlSeconds');
  }

  async begin(owner: string, key: string, fingerprint: string): Promise<IdempotencyOutcome> {
    if (!IDEMPOTENCY_KEY_PATTERN.test(key)) throw new InvalidIdempotencyKeyError();
    const redisKey = this.redisKey(owner, key);
    const claim = randomUUID();
    const claimed = JSON.stringify({ state: 'in-flight', fingerprint, claim });
    const existing = await claimScript.run(this.redis, [redisKey], [claimed, this.inFlightTtlSeconds]);
    if (existing === null) return this.proceed(redisKey, fingerprint, claim);

    const entry = entrySchema.parse(JSON.parse(String(existing)));
    // A different body is the client's mistake whether or not the first request has finished.
    if (entry.fingerprint !== fingerprint) return { kind: 'mismatch' };
    if (entry.state === 'in-flight') return { kind: 'conflict' };
    return { kind: 'replay', response: entry.response };
  }

  private proceed(redisKey: string, fingerprint: string, claim: string): IdempotencyOutcome {
    let settled = false;
    // Settles once: a later commit or abandon (say, an abandon in a `finally`) does nothing.
    const settleOnce = async (settle: () => Promise<unknown>): Promise<void> => {
      if (settled) return;
      settled = true;
      await settle();
    };
    return {
      kind: 'proceed',
      commit: (response) =>
        settleOnce(() => {
          const stored = storedResponseSchema.parse(response);
          const entry = JSON.stringify({ state: 'done', fingerprint, response: stored });
          return commitScript.run(this.redis, [redisKey], [claim, entry, this.ttlSeconds]);
        }),
      abandon: () => settleOnce(() => abandonScript.run(this.redis, [redisKey], [claim])),
    };
  }

  /** The client's key is hashed: any printable ASCII, bounded length, never a Redis glob surprise. */
  private redisKey(owner: string, key: string): string {
    const keyHash = createHash('sha256').update(key, 'utf8').digest('hex');
    return `${this.prefix}:idem:${owner}:${keyHash}`;
  }
}

/** The Idempotency-Key is not 1-255 printable ASCII characters (400). */
export class InvalidIdempotencyKeyError extends Error {
  readonly code = 'InvalidIdempotencyKey';
  constructor() {
    super('Idempotency-Key must be 1-255 printable ASCII characters');
    this.name = 'InvalidIdempotencyKeyError';
  }
}

function positiveSeconds(value: number, name: string): number {
  if (!Number.isInteger(value) || value <= 0) throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}

/**
 * sha256 over the method, the path and the body: canonical JSON (object keys sorted, so key order
 * does not matter) for a parsed body, or the raw bytes for an upload.
 */
export function requestFingerprint(method: string, path: string, body: unknown): string {
  const hash = createHash('sha256').update(`${method.toUpperCase()}\n${path}\n`, 'utf8');
  if (body instanceof Uint8Array) hash.update('bytes\n', 'utf8').update(body);
  else hash.update('json\n', 'utf8').update(canonicalJson(body) ?? 'undefined', 'utf8');
  return hash.digest('hex');
}

/** JSON.stringify with object keys sorted at every depth; undefined where JSON.stringify gives undefined. */
export function canonicalJson(value: unknown): string | undefined {
  return JSON.stringify(value, (_key, nested: unknown) => {
    if (nested === null || typeof nested !== 'object' || Array.isArray(nested)) return nested;
    return Object.fromEntries(Object.entries(nested).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  });
}
