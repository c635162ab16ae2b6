import type { Job } from 'bullmq';
import type { Logger } from 'pino';
import type { StageName } from '../contracts/queue-names';
import { isTerminalStatus, type VideoRecord } from '../jobs/video-record';
import type { VideoStore } from '../jobs/video-store';
import { stageProgressed } from '../jobs/video-transitions';

/** What `job.updateProgress` carries: the stage and its step, for QueueEvents listeners and the queue UI. */
export interface StageJobProgress {
  stage: StageName;
  step: number;
  totalSteps: number;
}

export interface StageProgressWriterOptions {
  job: Pick<Job, 'updateProgress'>;
  videoId: string;
  stage: StageName;
  store: VideoStore;
  logger: Logger;
  now: () => Date;
  /** Writes closer together than this are skipped, except the final step (default 100 ms). */
  minIntervalMs?: number;
  /** Called when a progress write finds the video terminal (cancelled or failed elsewhere). */
  onVideoTerminal: (record: VideoRecord) => void;
}

export const DEFAULT_PROGRESS_INTERVAL_MS = 100;

/**
 * A stage's per-step progress, written to BullMQ (`job.updateProgress`) and the video record in
 * the order the steps happened. A stage reports synchronously from its denoising loop; the writes
 * run one after another behind it, and a failed write is logged, never thrown: losing a progress
 * step must not fail a stage. Each write also re-reads the record, so a cancel that reached the
 * record but not the pub/sub channel still stops the stage at its next step.
 */
export class StageProgressWriter {
  private chain: Promise<void> = Promise.resolve();
  private lastWriteAt = Number.NEGATIVE_INFINITY;
  private readonly minIntervalMs: number;

  constructor(private readonly options: StageProgressWriterOptions) {
    this.minIntervalMs = options.minIntervalMs ?? DEFAULT_PROGRESS_INTERVAL_MS;
  }

  /** Queues the write of `step` of `totalSteps`, unless one was queued under minIntervalMs ago. */
  report(step: number, totalSteps: number): void {
    const at = performance.now();
    if (step < totalSteps && at - this.lastWriteAt < this.minIntervalMs) return;
    this.lastWriteAt = at;
    this.chain = this.chain.then(() => this.write(step, totalSteps));
  }

  /** Resolves once every queued write has finished (succeeded or been logged). */
  flush(): Promise<void> {
    return this.chain;
  }

  private async write(step: number, totalSteps: number): Promise<void> {
    const { job, videoId, stage, store, logger, now, onVideoTerminal } = this.options;
    try {
      await job.updateProgress({ stage, step, totalSteps } satisfies StageJobProgress);
      let seen: VideoRecord | undefined;
      await store.update(videoId, (record) => {
        seen = record;
        return stageProgressed(record, stage, step, totalSteps, now());
      });
      if (seen !== undefined && isTerminalStatus(seen.status)) onVideoTerminal(seen);
    } catch (error) {
      logger.warn({ err: error, step, totalSteps }, 'progress write failed; the stage goes on');
    }
  }
}
