import type { Redis } from 'ioredis';
import { RedisScript } from '../redis/redis-script';

/** KEYS: the index. ARGV: video id, now ms. Removes the entry only while it is still due. */
const CLEAR_IF_DUE = new RedisScript(`
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) <= tonumber(ARGV[2]) then return redis.call('ZREM', KEYS[1], ARGV[1]) end
return 0
`);

/**
 * The deadline index (issue 15): videos by the time (ms) they must have finished, so the sweeper
 * finds the ones past due without reading every record. An entry outlives its video's end; the
 * sweeper drops it when it comes due and the deadline transition changes nothing.
 */
export class VideoDeadlines {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  /** Sets (or moves) the video's deadline. Written before the record, so no deadline is ever missed. */
  async schedule(videoId: string, deadlineAt: Date): Promise<void> {
    await this.redis.zadd(this.key(), deadlineAt.getTime(), videoId);
  }

  /** Videos whose deadline is at or before `now`, earliest first, up to `count`. */
  async due(now: Date, count: number): Promise<string[]> {
    return this.redis.zrangebyscore(this.key(), '-inf', now.getTime(), 'LIMIT', 0, Math.max(1, Math.trunc(count)));
  }

  /** Drops the entry, unless it was moved past `now` meanwhile (a retry with a new deadline). */
  async clear(videoId: string, now: Date): Promise<void> {
    await CLEAR_IF_DUE.run(this.redis, [this.key()], [videoId, now.getTime()]);
  }

  private key(): string {
    return `${this.prefix}:video-deadlines`;
  }
}
