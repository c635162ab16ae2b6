import type { Redis } from 'ioredis';
import type { StageName } from '../contracts/queue-names';

/**
 * Recent stage durations (issue 15), per stage, in Redis: the workers record each completed
 * stage's run time; the API reads their mean to estimate when a queued video starts and to weigh
 * each stage's share of a new video's overall progress.
 */

/** durations kept per stage: enough to smooth one slow run, few enough to follow a change of hardware */
export const STAGE_DURATION_SAMPLES = 20;

/** Each stage's share of the work when nothing has been measured yet (tiny model, CPU; refined by measurements). */
export const DEFAULT_STAGE_COSTS: Readonly<Record<StageName, number>> = { keyframe: 4, interp: 3, decode: 1, sr: 3 };

export class StageDurations {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  /** Adds one completed stage's run time, keeping the last STAGE_DURATION_SAMPLES. */
  async record(stage: StageName, durationMs: number): Promise<void> {
    const key = this.key(stage);
    await this.redis.multi().lpush(key, Math.max(0, Math.round(durationMs))).ltrim(key, 0, STAGE_DURATION_SAMPLES - 1).exec();
  }

  /** Mean run time of each stage's recent completions, in ms; a stage with none is absent. */
  async means(stages: readonly StageName[]): Promise<Partial<Record<StageName, number>>> {
    const pipeline = this.redis.pipeline();
    for (const stage of stages) pipeline.lrange(this.key(stage), 0, -1);
    const replies = (await pipeline.exec()) ?? [];
    const means: Partial<Record<StageName, number>> = {};
    for (const [index, stage] of stages.entries()) {
      const [error, values] = replies[index] ?? [null, []];
      if (error !== null) throw error;
      const samples = (values as string[]).map(Number).filter((value) => Number.isFinite(value));
      if (samples.length > 0) means[stage] = samples.reduce((sum, value) => sum + value, 0) / samples.length;
    }
    return means;
  }

  private key(stage: StageName): string {
    return `${this.prefix}:stage-durations:${stage}`;
  }
}

/**
 * Each stage's share of a flow's expected cost, summing to 1: the measured means when every stage
 * of the flow has some (so one measured stage never dwarfs defaults of another scale), else the
 * defaults.
 */
export function stageWeights(stages: readonly StageName[], means: Partial<Record<StageName, number>>): Partial<Record<StageName, number>> {
  const measured = stages.every((stage) => (means[stage] ?? 0) > 0);
  const costs = stages.map((stage) => (measured ? (means[stage] ?? 0) : DEFAULT_STAGE_COSTS[stage]));
  const total = costs.reduce((sum, cost) => sum + cost, 0);
  return Object.fromEntries(stages.map((stage, index) => [stage, (costs[index] ?? 0) / total]));
}
