import { once } from 'node:events';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeRedisConnection, createRedisConnection } from '../redis/redis-connection';
import { startTestServices, type TestServices } from '../testing/test-services';
import { InvalidRateLimitCostError, RateLimiter } from './rate-limiter';

let services: TestServices;
let redis: Redis;

beforeAll(async () => {
  services = await startTestServices();
  redis = createRedisConnection(services.redis.url, { purpose: 'commands', connectionName: 'test:rate-limiter' });
  await once(redis, 'ready');
});

afterAll(async () => {
  await closeRedisConnection(redis);
  await services.stop();
});

let ownerCounter = 0;
/** A fresh owner per test, so tests share the prefix without sharing allowances. */
const freshOwner = (): string => `team-${++ownerCounter}`;

/** One request a minute: nothing refills while a test runs, so counts are exact. */
const slowLimiter = (burst: number): RateLimiter =>
  new RateLimiter({ redis, prefix: services.queuePrefix, perMinute: 1, burst });

describe('RateLimiter', () => {
  it('lets a burst through, counting down, then refuses with a retry delay', async () => {
    const limiter = slowLimiter(3);
    const owner = freshOwner();
    const decisions = [];
    for (let request = 0; request < 4; request++) decisions.push(await limiter.consume(owner));
    expect(decisions.map((decision) => [decision.allowed, decision.remaining, decision.limit])).toEqual([
      [true, 2, 3],
      [true, 1, 3],
      [true, 0, 3],
      [false, 0, 3],
    ]);
    expect(decisions.slice(0, 3).every((decision) => decision.retryAfterSeconds === 0)).toBe(true);
    const refused = decisions[3];
    // At one request a minute, the next slot opens about a minute after the first request.
    expect(refused?.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(refused?.retryAfterSeconds).toBeLessThanOrEqual(60);
    expect(refused?.resetSeconds).toBeGreaterThan(120);
    expect(refused?.resetSeconds).toBeLessThanOrEqual(180);
  });

  it('keeps owners independent', async () => {
    const limiter = slowLimiter(1);
    const [first, second] = [freshOwner(), freshOwner()];
    expect((await limiter.consume(first)).allowed).toBe(true);
    expect((await limiter.consume(first)).allowed).toBe(false);
    expect((await limiter.consume(second)).allowed).toBe(true);
  });

  it('never lets concurrent requests past the burst', async () => {
    const limiter = slowLimiter(7);
    const owner = freshOwner();
    const decisions = await Promise.all(Array.from({ length: 50 }, () => limiter.consume(owner)));
    expect(decisions.filter((decision) => decision.allowed)).toHaveLength(7);
    expect(decisions.filter((decision) => decision.allowed).map((decision) => decision.remaining).sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('does not charge refused requests', async () => {
    const limiter = slowLimiter(2);
    const owner = freshOwner();
    const key = `${services.queuePrefix}:ratelimit:${owner}`;
    await limiter.consume(owner);
    await limiter.consume(owner);
    const state = await redis.get(key);
    expect(state).toMatch(/^\d+$/);
    for (let request = 0; request < 5; request++) expect((await limiter.consume(owner)).allowed).toBe(false);
    expect(await redis.get(key)).toBe(state);
  });

  it('keeps its state in one expiring key per owner', async () => {
    const limiter = slowLimiter(2);
    const owner = freshOwner();
    await limiter.consume(owner);
    const ttl = await redis.pttl(`${services.queuePrefix}:ratelimit:${owner}`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  it('charges a cost of several requests at once', async () => {
    const limiter = slowLimiter(5);
    const owner = freshOwner();
    expect(await limiter.consume(owner, 3)).toMatchObject({ allowed: true, remaining: 2 });
    expect(await limiter.consume(owner, 3)).toMatchObject({ allowed: false, remaining: 2 });
    expect(await limiter.consume(owner, 2)).toMatchObject({ allowed: true, remaining: 0 });
  });

  it('refills at the configured rate', async () => {
    // 120 a minute: one slot every 500 ms. Spend the allowance, then wait for the next slot.
    const limiter = new RateLimiter({ redis, prefix: services.queuePrefix, perMinute: 120, burst: 1 });
    const owner = freshOwner();
    let decision = await limiter.consume(owner);
    while (decision.allowed) decision = await limiter.consume(owner);
    expect(decision.retryAfterSeconds).toBe(1);
    while (!decision.allowed) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      decision = await limiter.consume(owner);
    }
    expect(decision).toMatchObject({ allowed: true, remaining: 0, retryAfterSeconds: 0 });
  });

  it('refuses a cost that could never pass, and nonsense settings', async () => {
    const limiter = slowLimiter(2);
    await expect(limiter.consume(freshOwner(), 3)).rejects.toBeInstanceOf(InvalidRateLimitCostError);
    await expect(limiter.consume(freshOwner(), 0)).rejects.toMatchObject({ code: 'InvalidRateLimitCost' });
    expect(() => new RateLimiter({ redis, prefix: services.queuePrefix, perMinute: 0, burst: 1 })).toThrow(RangeError);
    expect(() => new RateLimiter({ redis, prefix: services.queuePrefix, perMinute: 60, burst: 0 })).toThrow(RangeError);
  });
});
