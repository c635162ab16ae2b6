import type { Redis } from 'ioredis';
import type { StageName } from '../contracts/queue-names';
import { RedisScript } from '../redis/redis-script';

/**
 * Where a waiting stage job stands in its queue (issue 15). BullMQ takes jobs from the right of
 * the `wait` list first, then from the `prioritized` sorted set in score order (priority, then
 * insertion), so a job's position is the number of jobs taken before it, plus one. Read in one
 * script so the list and the set are seen at the same instant.
 * KEYS: wait list, prioritized set. ARGV: job id. Returns the 1-based position, or 0 when the job
 * waits in neither (active, delayed, waiting for its children, finished or gone).
 */
const POSITION_SCRIPT = new RedisScript(`
local waiting = redis.call('LLEN', KEYS[1])
local index = redis.call('LPOS', KEYS[1], ARGV[1])
if index then return waiting - index end
local rank = redis.call('ZRANK', KEYS[2], ARGV[1])
if rank then return waiting + rank + 1 end
return 0
`);

/** The 1-based position of a waiting job in its stage's queue; undefined when it is not waiting. */
export async function queuePosition(redis: Redis, prefix: string, stage: StageName, jobId: string): Promise<number | undefined> {
  const reply = await POSITION_SCRIPT.run(redis, [`${prefix}:${stage}:wait`, `${prefix}:${stage}:prioritized`], [jobId]);
  const position = Number(reply);
  return position > 0 ? position : undefined;
}

export interface StartEstimateInput {
  /** 1-based position in the queue */
  position: number;
  /** jobs running now on the queue */
  active: number;
  /** workers serving the queue; none: no estimate (nothing will start) */
  workers: number;
  /** mean recent duration of the stage, ms; undefined: no estimate */
  meanDurationMs: number | undefined;
  now: Date;
}

/**
 * When a waiting job should start: the jobs ahead of it take the free workers first, then run
 * `workers` at a time, each for the stage's recent mean; a busy worker frees, on average, after
 * half a run. Undefined without workers or without a measured duration.
 */
export function estimateStart(input: StartEstimateInput): Date | undefined {
  const { position, active, workers, meanDurationMs, now } = input;
  if (workers <= 0 || meanDurationMs === undefined) return undefined;
  const ahead = Math.max(0, position - 1);
  const free = Math.max(0, workers - active);
  if (ahead < free) return now;
  const waves = Math.floor((ahead - free) / workers);
  return new Date(now.getTime() + meanDurationMs / 2 + waves * meanDurationMs);
}
