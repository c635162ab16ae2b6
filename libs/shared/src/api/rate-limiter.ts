import type { Redis } from 'ioredis';
import { z } from 'zod';
import { RedisScript } from '../redis/redis-script';

export interface RateLimitDecision {
  allowed: boolean;
  /** The burst: how many requests a rested client may send at once. */
  limit: number;
  /** Requests that would still pass right now. */
  remaining: number;
  /** Seconds until this request would pass (rounded up, at least 1); 0 when allowed. */
  retryAfterSeconds: number;
  /** Seconds until the allowance is whole again (rounded up). */
  resetSeconds: number;
}

export interface RateLimiterOptions {
  redis: Redis;
  /** The queue prefix (e.g. `{mv}`), for the Redis Cluster slot and test isolation. */
  prefix: string;
  /** Sustained rate per owner. */
  perMinute: number;
  /** Requests a rested owner may send at once. */
  burst: number;
}

/** A cost outside 1..burst could never pass; it is the caller's bug, not the client's. */
export class InvalidRateLimitCostError extends Error {
  readonly code = 'InvalidRateLimitCost';
  constructor(cost: number, burst: number) {
    super(`rate-limit cost must be an integer in 1..${burst}, got ${cost}`);
    this.name = 'InvalidRateLimitCostError';
  }
}

/**
 * GCRA (the generic cell rate algorithm), state = one "theoretical arrival time" (TAT) per owner,
 * in microseconds. Each request moves the TAT on by cost × interval; it passes while the TAT stays
 * within `burst` intervals of now. Time comes from Redis (TIME), so API replicas with skewed clocks
 * share one view. Lua numbers are doubles: microseconds since 1970 (~1.7e15) are exact below 2^53.
 *
 * ARGV: interval µs, burst, cost. Returns { allowed 0|1, remaining, retry-after µs, reset µs }.
 */
const gcraScript = new RedisScript(`
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local tolerance = interval * burst
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local newTat = tat + interval * cost
local allowAt = newTat - tolerance
if allowAt > now then
  return { 0, math.floor((tolerance - (tat - now)) / interval), allowAt - now, tat - now }
end
redis.call('SET', KEYS[1], string.format('%d', newTat), 'PX', math.ceil((newTat - now) / 1000))
return { 1, math.floor((tolerance - (newTat - now)) / interval), 0, newTat - now }
`);

const gcraReplySchema = z.tuple([z.literal([0, 1]), z.number().int(), z.number().int(), z.number().int()]);

/** Per-owner request rate limits in Redis (GCRA in one Lua script, so concurrent requests never overshoot). */
export class RateLimiter {
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly intervalMicros: number;
  private readonly burst: number;

  constructor(options: RateLimiterOptions) {
    if (!(options.perMinute > 0)) throw new RangeError(`perMinute must be positive, got ${options.perMinute}`);
    if (!Number.isInteger(options.burst) || options.burst < 1) {
      throw new RangeError(`burst must be a positive integer, got ${options.burst}`);
    }
    this.redis = options.redis;
    this.prefix = options.prefix;
    this.intervalMicros = Math.round(60_000_000 / options.perMinute);
    this.burst = options.burst;
  }

  async consume(owner: string, cost = 1): Promise<RateLimitDecision> {
    if (!Number.isInteger(cost) || cost < 1 || cost > this.burst) throw new InvalidRateLimitCostError(cost, this.burst);
    const reply = await gcraScript.run(this.redis, [`${this.prefix}:ratelimit:${owner}`], [this.intervalMicros, this.burst, cost]);
    const [allowed, remaining, retryAfterMicros, resetMicros] = gcraReplySchema.parse(reply);
    return {
      allowed: allowed === 1,
      limit: this.burst,
      remaining: Math.max(0, remaining),
      retryAfterSeconds: allowed === 1 ? 0 : Math.max(1, Math.ceil(retryAfterMicros / 1_000_000)),
      resetSeconds: Math.ceil(resetMicros / 1_000_000),
    };
  }
}
