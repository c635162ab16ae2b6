import { once } from 'node:events';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeRedisConnection, createRedisConnection } from '../redis/redis-connection';
import { startTestServices, type TestServices } from '../testing/test-services';
import {
  IdempotencyStore,
  type IdempotencyOutcome,
  InvalidIdempotencyKeyError,
  type StoredResponse,
  canonicalJson,
  parseIdempotencyKeyHeader,
  requestFingerprint,
} from './idempotency';

let services: TestServices;
let redis: Redis;

beforeAll(async () => {
  services = await startTestServices();
  redis = createRedisConnection(services.redis.url, { purpose: 'commands', connectionName: 'test:idempotency' });
  await once(redis, 'ready');
});

afterAll(async () => {
  await closeRedisConnection(redis);
  await services.stop();
});

const accepted: StoredResponse = {
  statusCode: 202,
  headers: { location: '/v1/videos/v1', 'content-type': 'application/json' },
  body: { id: 'v1', status: 'queued', nested: [1, { a: null }] },
};
const fingerprint = requestFingerprint('POST', '/v1/videos', { prompt: 'a red circle moving right' });
const otherFingerprint = requestFingerprint('POST', '/v1/videos', { prompt: 'a blue square moving left' });

function storeWith(options: { ttlSeconds?: number; inFlightTtlSeconds?: number } = {}): IdempotencyStore {
  return new IdempotencyStore({ redis, prefix: services.queuePrefix, ttlSeconds: options.ttlSeconds ?? 600, ...options });
}

let keyCounter = 0;
/** A fresh key per test, so tests share the store's prefix without seeing each other's entries. */
const freshKey = (): string => `key-${++keyCounter}-${Date.now()}`;

function proceeding(outcome: IdempotencyOutcome): Extract<IdempotencyOutcome, { kind: 'proceed' }> {
  if (outcome.kind !== 'proceed') throw new Error(`expected proceed, got ${outcome.kind}`);
  return outcome;
}

async function idempotencyKeysOf(owner: string): Promise<string[]> {
  return redis.keys(`${services.queuePrefix}:idem:${owner}:*`);
}

describe('IdempotencyStore', () => {
  it('lets the first request proceed, then replays its committed response', async () => {
    const store = storeWith();
    const key = freshKey();
    const first = proceeding(await store.begin('team-a', key, fingerprint));
    await first.commit(accepted);
    expect(await store.begin('team-a', key, fingerprint)).toEqual({ kind: 'replay', response: accepted });
    expect(await store.begin('team-a', key, fingerprint)).toEqual({ kind: 'replay', response: accepted });
  });

  it('answers conflict while the first request is in flight', async () => {
    const store = storeWith();
    const key = freshKey();
    const first = proceeding(await store.begin('team-a', key, fingerprint));
    expect(await store.begin('team-a', key, fingerprint)).toEqual({ kind: 'conflict' });
    await first.commit(accepted);
    expect((await store.begin('team-a', key, fingerprint)).kind).toBe('replay');
  });

  it('lets exactly one of many concurrent duplicates proceed', async () => {
    const store = storeWith();
    const key = freshKey();
    const outcomes = await Promise.all(Array.from({ length: 25 }, () => store.begin('team-a', key, fingerprint)));
    const kinds = outcomes.map((outcome) => outcome.kind);
    expect(kinds.filter((kind) => kind === 'proceed')).toHaveLength(1);
    expect(kinds.filter((kind) => kind === 'conflict')).toHaveLength(24);
  });

  it('answers mismatch for the same key with a different body, in flight or finished', async () => {
    const store = storeWith();
    const key = freshKey();
    const first = proceeding(await store.begin('team-a', key, fingerprint));
    expect(await store.begin('team-a', key, otherFingerprint)).toEqual({ kind: 'mismatch' });
    await first.commit(accepted);
    expect(await store.begin('team-a', key, otherFingerprint)).toEqual({ kind: 'mismatch' });
  });

  it('frees the key on abandon, so a retry runs again', async () => {
    const store = storeWith();
    const key = freshKey();
    const first = proceeding(await store.begin('team-a', key, fingerprint));
    await first.abandon();
    const retry = proceeding(await store.begin('team-a', key, fingerprint));
    await retry.commit({ ...accepted, body: { id: 'v2' } });
    expect(await store.begin('team-a', key, fingerprint)).toMatchObject({ kind: 'replay', response: { body: { id: 'v2' } } });
  });

  it('settles once: an abandon after the commit keeps the committed response', async () => {
    const store = storeWith();
    const key = freshKey();
    const first = proceeding(await store.begin('team-a', key, fingerprint));
    await first.commit(accepted);
    await first.abandon();
    expect(await store.begin('team-a', key, fingerprint)).toEqual({ kind: 'replay', response: accepted });
  });

  it('keeps two owners with the same key apart', async () => {
    const store = storeWith();
    const key = freshKey();
    const teamA = proceeding(await store.begin('team-a', key, fingerprint));
    const teamB = proceeding(await store.begin('team-b', key, otherFingerprint));
    await teamA.commit(accepted);
    await teamB.commit({ ...accepted, body: { id: 'b1' } });
    expect(await store.begin('team-a', key, fingerprint)).toEqual({ kind: 'replay', response: accepted });
    expect(await store.begin('team-b', key, otherFingerprint)).toMatchObject({ kind: 'replay', response: { body: { id: 'b1' } } });
  });

  it('stores the key hashed under the owner, with the in-flight and then the replay TTL', async () => {
    const owner = `owner-${freshKey()}`;
    const store = storeWith({ ttlSeconds: 3600, inFlightTtlSeconds: 30 });
    const key = 'order 42: "quoted" *glob*';
    const first = proceeding(await store.begin(owner, key, fingerprint));
    const [redisKey, ...others] = await idempotencyKeysOf(owner);
    expect(others).toEqual([]);
    expect(redisKey).toMatch(new RegExp(`^\\{mv-test-[0-9a-f]+\\}:idem:${owner}:[0-9a-f]{64}$`));
    const inFlightTtl = await redis.ttl(redisKey ?? '');
    expect(inFlightTtl).toBeGreaterThan(0);
    expect(inFlightTtl).toBeLessThanOrEqual(30);
    await first.commit(accepted);
    const replayTtl = await redis.ttl(redisKey ?? '');
    expect(replayTtl).toBeGreaterThan(30);
    expect(replayTtl).toBeLessThanOrEqual(3600);
  });

  it('frees the key of a request that never settles once its in-flight TTL runs out', async () => {
    const store = storeWith({ inFlightTtlSeconds: 1 });
    const key = freshKey();
    proceeding(await store.begin('team-a', key, fingerprint));
    expect((await store.begin('team-a', key, fingerprint)).kind).toBe('conflict');
    let outcome: IdempotencyOutcome;
    do {
      await new Promise((resolve) => setTimeout(resolve, 100));
      outcome = await store.begin('team-a', key, fingerprint);
    } while (outcome.kind === 'conflict');
    expect(outcome.kind).toBe('proceed');
  });

  it('does not let a late commit overwrite the request that took over its expired claim', async () => {
    const store = storeWith();
    const owner = `owner-${freshKey()}`;
    const key = freshKey();
    const late = proceeding(await store.begin(owner, key, fingerprint));
    // The late request's claim runs out (deleted here rather than waited for) and a retry takes the key.
    await redis.del(...(await idempotencyKeysOf(owner)));
    const takeover = proceeding(await store.begin(owner, key, fingerprint));
    await late.commit({ ...accepted, body: { id: 'late' } });
    expect(await store.begin(owner, key, fingerprint)).toEqual({ kind: 'conflict' });
    await late.abandon();
    expect(await store.begin(owner, key, fingerprint)).toEqual({ kind: 'conflict' });
    await takeover.commit({ ...accepted, body: { id: 'takeover' } });
    expect(await store.begin(owner, key, fingerprint)).toMatchObject({ kind: 'replay', response: { body: { id: 'takeover' } } });
  });

  it('stores a late commit whose claim ran out with nobody taking over', async () => {
    const store = storeWith();
    const owner = `owner-${freshKey()}`;
    const key = freshKey();
    const late = proceeding(await store.begin(owner, key, fingerprint));
    await redis.del(...(await idempotencyKeysOf(owner)));
    await late.commit(accepted);
    expect(await store.begin(owner, key, fingerprint)).toEqual({ kind: 'replay', response: accepted });
  });

  it('refuses a key that is not 1-255 printable ASCII characters', async () => {
    const store = storeWith();
    await expect(store.begin('team-a', '', fingerprint)).rejects.toBeInstanceOf(InvalidIdempotencyKeyError);
    await expect(store.begin('team-a', 'é', fingerprint)).rejects.toMatchObject({ code: 'InvalidIdempotencyKey' });
    await expect(store.begin('team-a', 'x'.repeat(256), fingerprint)).rejects.toBeInstanceOf(InvalidIdempotencyKeyError);
  });
});

describe('parseIdempotencyKeyHeader', () => {
  it('accepts a bare key and a Structured Field string', () => {
    expect(parseIdempotencyKeyHeader('8e03978e-40d5-43e8-bc93-6894a57f9324')).toBe('8e03978e-40d5-43e8-bc93-6894a57f9324');
    expect(parseIdempotencyKeyHeader('"8e03978e-40d5"')).toBe('8e03978e-40d5');
    expect(parseIdempotencyKeyHeader(String.raw`"say \"hi\" \\ bye"`)).toBe(String.raw`say "hi" \ bye`);
  });

  it('refuses empty, non-ASCII, over-long and badly quoted keys', () => {
    expect(parseIdempotencyKeyHeader('')).toBeUndefined();
    expect(parseIdempotencyKeyHeader('""')).toBeUndefined();
    expect(parseIdempotencyKeyHeader('clé')).toBeUndefined();
    expect(parseIdempotencyKeyHeader('k'.repeat(256))).toBeUndefined();
    expect(parseIdempotencyKeyHeader('k'.repeat(255))).toBe('k'.repeat(255));
    expect(parseIdempotencyKeyHeader('"unterminated')).toBeUndefined();
    expect(parseIdempotencyKeyHeader(String.raw`"bad \n escape"`)).toBeUndefined();
  });
});

describe('requestFingerprint', () => {
  it('ignores the order of object keys at every depth', () => {
    const a = requestFingerprint('POST', '/v1/videos', { prompt: 'p', options: { fps: 8, seed: 1 }, list: [{ x: 1, y: 2 }] });
    const b = requestFingerprint('post', '/v1/videos', { list: [{ y: 2, x: 1 }], options: { seed: 1, fps: 8 }, prompt: 'p' });
    expect(a).toBe(b);
    expect(a).toMatch(/^[0-9a-f]{64}$/);
  });

  it('changes with the body, the method, the path and array order', () => {
    const base = requestFingerprint('POST', '/v1/videos', { prompt: 'p', list: [1, 2] });
    expect(requestFingerprint('POST', '/v1/videos', { prompt: 'q', list: [1, 2] })).not.toBe(base);
    expect(requestFingerprint('POST', '/v1/videos', { prompt: 'p', list: [2, 1] })).not.toBe(base);
    expect(requestFingerprint('PUT', '/v1/videos', { prompt: 'p', list: [1, 2] })).not.toBe(base);
    expect(requestFingerprint('POST', '/v1/other', { prompt: 'p', list: [1, 2] })).not.toBe(base);
  });

  it('hashes raw bytes as bytes, apart from a JSON body of the same text', () => {
    const bytes = new TextEncoder().encode('"abc"');
    expect(requestFingerprint('POST', '/v1/videos', bytes)).toBe(requestFingerprint('POST', '/v1/videos', Buffer.from('"abc"')));
    expect(requestFingerprint('POST', '/v1/videos', bytes)).not.toBe(requestFingerprint('POST', '/v1/videos', 'abc'));
    expect(requestFingerprint('POST', '/v1/videos', bytes)).not.toBe(
      requestFingerprint('POST', '/v1/videos', new TextEncoder().encode('"abd"')),
    );
  });
});

describe('canonicalJson', () => {
  it('sorts keys, keeps arrays in order and drops undefined like JSON.stringify', () => {
    expect(canonicalJson({ b: 1, a: [3, { d: undefined, c: null }] })).toBe('{"a":[3,{"c":null}],"b":1}');
    expect(canonicalJson(undefined)).toBeUndefined();
  });
});
