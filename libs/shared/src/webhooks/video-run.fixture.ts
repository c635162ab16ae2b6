import type { StageName } from '../contracts/queue-names';
import type { VideoStore } from '../jobs/video-store';
import { stageCompleted, stageProgressed, stageStarted } from '../jobs/video-transitions';

/**
 * For tests: takes a queued video through its stages as the workers would (started, `steps`
 * progress steps each, completed), one simulated second per change, ending succeeded.
 */
export async function runVideoToSuccess(store: VideoStore, videoId: string, options: { steps?: number; start?: Date } = {}): Promise<void> {
  const steps = options.steps ?? 2;
  let clock = (options.start ?? new Date('2026-01-01T00:00:00.000Z')).getTime();
  const tick = (): Date => new Date((clock += 1000));
  const record = await store.get(videoId);
  if (record === undefined) throw new Error(`no video ${videoId}`);
  for (const stage of record.stages as StageName[]) {
    await store.update(videoId, (current) => stageStarted(current, stage, 1, tick()));
    for (let step = 1; step <= steps; step += 1) await store.update(videoId, (current) => stageProgressed(current, stage, step, steps, tick()));
    await store.update(videoId, (current) => stageCompleted(current, stage, {}, tick()));
  }
}
