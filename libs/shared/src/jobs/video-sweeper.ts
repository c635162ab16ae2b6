import type { S3Client } from '@aws-sdk/client-s3';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { StageName } from '../contracts/queue-names';
import { counterFamily } from '../metrics/metric-family';
import { recordVideoFinished } from '../metrics/video-metrics';
import { publishCancel } from './cancel-channel';
import { VideoDeadlines } from './video-deadlines';
import { removeWaitingStageJobs } from './video-flow';
import { isTerminalStatus } from './video-record';
import { deleteVideoArtifacts, INTERMEDIATE_ARTIFACTS, RESULT_ARTIFACTS, type RetentionPeriods } from './video-retention';
import type { RetentionPart, VideoStore } from './video-store';
import { VideoNotFound } from './video-store-errors';
import { deadlineReached, intermediatesExpired, resultsExpired } from './video-transitions';

export interface VideoSweeperOptions {
  store: VideoStore;
  /** a commands connection: the deadline index and the cancel channel */
  redis: Redis;
  prefix: string;
  /** the stage queues, to remove an ended video's waiting jobs */
  queues: Record<StageName, Queue>;
  s3: S3Client;
  bucket: string;
  retention: RetentionPeriods;
  logger: Logger;
  /** time between sweeps (default 1000 ms) */
  intervalMs?: number;
  now?: () => Date;
}

/** entries handled per index per sweep, so one sweep never holds up the next for long */
const BATCH = 100;
const DEFAULT_INTERVAL_MS = 1_000;

const deadlineEnds = counterFamily({
  name: 'magicvideo_video_deadline_ends_total',
  help: 'Videos ended by their deadline, by the status they ended with (cancelled while running, expired before starting).',
  labelNames: ['status'],
});
const retentionDeletes = counterFamily({
  name: 'magicvideo_retention_deletes_total',
  help: 'Ended videos whose intermediates or results the retention sweeper deleted, by part.',
  labelNames: ['part'],
});

/**
 * Ends videos past their deadline and deletes what retention says is due (issue 15). Every
 * process that runs one sweeps the same indexes: each step is a compare-and-set transition or an
 * idempotent delete, so two sweepers at once do the work once and agree on the outcome.
 */
export class VideoSweeper {
  private readonly deadlines: VideoDeadlines;
  private readonly now: () => Date;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly options: VideoSweeperOptions) {
    this.deadlines = new VideoDeadlines(options.redis, options.prefix);
    this.now = options.now ?? (() => new Date());
  }

  /** Sweeps now and then every intervalMs until close(); a failed sweep is logged and the next one runs. */
  start(): this {
    const tick = (): void => {
      this.running = this.sweep()
        .catch((error: unknown) => this.options.logger.error({ err: error }, 'video sweep failed'))
        .finally(() => {
          this.running = undefined;
          if (!this.closed) this.timer = setTimeout(tick, this.options.intervalMs ?? DEFAULT_INTERVAL_MS);
        });
    };
    tick();
    return this;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    await this.running;
  }

  /** One pass: deadlines first (they stop work), then intermediates, then results. */
  async sweep(): Promise<void> {
    await this.endOverdueVideos();
    await this.deleteDue('intermediates');
    await this.deleteDue('results');
  }

  private async endOverdueVideos(): Promise<void> {
    const { store, queues, redis, prefix, logger } = this.options;
    const now = this.now();
    for (const videoId of await this.deadlines.due(now, BATCH)) {
      try {
        const ended = await store.update(videoId, (record) => deadlineReached(record, now));
        if (ended !== null) {
          const { record } = ended;
          deadlineEnds.labels({ status: record.status }).inc();
          recordVideoFinished(record);
          await removeWaitingStageJobs(queues, videoId, record.stages, record.runs?.at(-1)?.run ?? 1);
          await publishCancel(redis, prefix, videoId);
          logger.info({ videoId, status: record.status, deadlineAt: record.deadlineAt }, 'video ended by its deadline');
        }
      } catch (error) {
        if (!(error instanceof VideoNotFound)) throw error;
      }
      await this.deadlines.clear(videoId, now);
    }
  }

  private async deleteDue(part: RetentionPart): Promise<void> {
    const { store, s3, bucket, retention, logger } = this.options;
    const now = this.now();
    const seconds = part === 'intermediates' ? retention.intermediateSeconds : retention.resultSeconds;
    for (const videoId of await store.dueForRetention(part, new Date(now.getTime() - seconds * 1000), BATCH)) {
      const record = await store.get(videoId);
      // reopened by a retry since it entered the index (the reopen also removes it): nothing is due
      if (record === undefined || !isTerminalStatus(record.status)) {
        await store.clearRetention(part, videoId);
        continue;
      }
      const artifacts = part === 'intermediates' ? INTERMEDIATE_ARTIFACTS : [...INTERMEDIATE_ARTIFACTS, ...RESULT_ARTIFACTS];
      await deleteVideoArtifacts(s3, bucket, videoId, artifacts);
      await store.update(videoId, (latest) => (part === 'intermediates' ? intermediatesExpired(latest, INTERMEDIATE_ARTIFACTS, now) : resultsExpired(latest, now)));
      await store.clearRetention(part, videoId);
      if (part === 'results') await store.clearRetention('intermediates', videoId);
      retentionDeletes.labels({ part }).inc();
      logger.info({ videoId, part }, 'retention: deleted');
    }
  }
}
