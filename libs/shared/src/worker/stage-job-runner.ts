import { type Job, type Processor, UnrecoverableError } from 'bullmq';
import type { Logger } from 'pino';
import type { StageName } from '../contracts/queue-names';
import type { CancelListener } from '../jobs/cancel-channel';
import type { StageDurations } from '../jobs/stage-durations';
import { stageJobDataSchema, type StageJobData, type StageJobResult } from '../jobs/stage-job';
import { isTerminalStatus, type VideoError, type VideoRecord } from '../jobs/video-record';
import type { VideoStore } from '../jobs/video-store';
import { deadlineReached, stageCompleted, stageRetrying, stageStarted, videoFailed } from '../jobs/video-transitions';
import { DENOISING_STAGES, stageDurationSeconds, stageQueueWaitSeconds, stageRetries, startBusyJob, stepTimer, type StageOutcome } from '../metrics/stage-metrics';
import { recordVideoFinished } from '../metrics/video-metrics';
import type { ArtifactStore } from '../storage/artifact-store';
import { StageError } from './stage-error';
import { classifyStageFailure } from './stage-failure';
import { StageProgressWriter } from './stage-progress';

/** What a stage's logic is handed for one job. */
export interface StageJob {
  /** Validated job data: the video, the resolved request, the input keys, whether this stage is the flow's last. */
  data: StageJobData;
  /** Aborted when the video is cancelled; stage functions check it between steps. */
  signal: AbortSignal;
  /** One unit of work done (a denoising step): BullMQ progress and the record's, throttled. */
  reportProgress(step: number, totalSteps: number): void;
  artifacts: ArtifactStore;
  /** Every line carries the videoId, stage and job id. */
  logger: Logger;
}

/** A stage's whole logic (apps/worker-<stage>/src/<stage>.processor.ts): read inputs, compute, write outputs. */
export type StageHandler = (job: StageJob) => Promise<StageJobResult>;

export interface StageProcessorOptions {
  stage: StageName;
  handler: StageHandler;
  store: VideoStore;
  cancels: Pick<CancelListener, 'register' | 'release'>;
  artifacts: ArtifactStore;
  logger: Logger;
  now?: () => Date;
  /** Minimum milliseconds between progress writes (default 100). */
  progressIntervalMs?: number;
  /** One attempt's limit: a hung attempt fails (StageTimeout, retried while attempts remain). None when absent. */
  timeoutMs?: number;
  /** Where completed stages' durations go (queue estimates, progress weights). */
  durations?: Pick<StageDurations, 'record'>;
}

function invalidInput(error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] }): StageError {
  const issues = error.issues.map((issue) => `${issue.path.map(String).join('.') || 'data'}: ${issue.message}`);
  return new StageError('InvalidStageInput', `job data: ${issues.join('; ')}`);
}

function cancelledError(videoId: string, status: string): StageError {
  return new StageError('StageCancelled', `video ${videoId} is ${status}`);
}

/** Thrown when an attempt outlasts the stage's timeout; transient, so another attempt (maybe another worker) may finish. */
class StageTimedOut extends Error {
  readonly code = 'StageTimeout';
  constructor(timeoutMs: number) {
    super(`the attempt ran longer than the stage's timeout of ${timeoutMs} ms`);
    this.name = 'StageTimedOut';
  }
}

/**
 * Runs the handler, failing with StageTimedOut when `timeoutMs` passes first (the handler is
 * also aborted, so it stops at its next step; a call that never returns is left behind).
 */
async function withinTimeout<T>(run: Promise<T>, timeoutMs: number | undefined, onTimeout: (error: StageTimedOut) => void): Promise<T> {
  if (timeoutMs === undefined) return run;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      const error = new StageTimedOut(timeoutMs);
      onTimeout(error);
      reject(error);
    }, timeoutMs);
  });
  try {
    return await Promise.race([run, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Tries started so far, this one included: a retry counts in attemptsMade, a stalled restart in attemptsStarted. */
function attemptOf(job: Job): number {
  return Math.max(job.attemptsMade + 1, job.attemptsStarted ?? 0);
}

/** Cancelled, or failed by another stage attempt: no work may start or finish. */
function isCancelledOrFailed(record: VideoRecord): boolean {
  return isTerminalStatus(record.status) && record.status !== 'succeeded';
}

/**
 * Wraps a stage's logic into the BullMQ processor every stage worker runs: validates the job
 * data, drives the video record through the stage (started, progress, completed, retrying,
 * failed), turns the cross-process cancel channel into the logic's AbortSignal, and sorts
 * failures: a bad input or model error fails the video at once (UnrecoverableError, message
 * `Code: detail`), a transient storage or Redis error is retried with the flow's backoff while
 * attempts remain, anything else fails with InternalError. Each attempt is measured (queue wait,
 * duration by outcome, denoising steps, busy time) and a video whose status this attempt made
 * terminal is counted finished, once, here.
 */
export function createStageProcessor(options: StageProcessorOptions): Processor<unknown, StageJobResult> {
  const { stage, handler, store, cancels, artifacts } = options;
  const now = options.now ?? (() => new Date());

  return async (job, _token, workerSignal) => {
    const parsed = stageJobDataSchema.safeParse(job.data);
    if (!parsed.success) throw invalidInput(parsed.error);
    const data = parsed.data;
    if (data.stage !== stage) throw new StageError('InvalidStageInput', `a ${data.stage} job on the ${stage} queue`);
    const { videoId } = data;
    const logger = options.logger.child({ videoId, stage, jobId: job.id });
    const attempt = attemptOf(job);
    const busy = startBusyJob(stage);
    let attemptStartedAt: number | undefined;
    const observeAttempt = (outcome: StageOutcome): void => {
      if (attemptStartedAt !== undefined) stageDurationSeconds.labels({ stage, outcome }).observe((performance.now() - attemptStartedAt) / 1000);
    };
    const controller = cancels.register(videoId);
    const { signal } = controller;
    let timedOut: StageTimedOut | undefined;
    let deadlineTimer: NodeJS.Timeout | undefined;
    // worker.cancelJob() (this process only) ends up in the same signal as the cancel channel.
    const onWorkerAbort = () => controller.abort(workerSignal?.reason);
    workerSignal?.addEventListener('abort', onWorkerAbort, { once: true });

    const fail = async (error: VideoError): Promise<void> => {
      try {
        const failed = await store.update(videoId, (record) => videoFailed(record, error, now()));
        if (failed !== null) recordVideoFinished(failed.record);
      } catch (updateError) {
        logger.error({ err: updateError, videoError: error }, 'could not record the failure');
      }
    };

    try {
      const record = await store.get(videoId);
      if (record === undefined) throw new StageError('InvalidStageInput', `video ${videoId} has no record`);
      if (record.stageRecords[stage] === undefined) throw new StageError('InvalidStageInput', `video ${videoId}'s flow has no ${stage} stage`);
      // Cancelled before this attempt: the API marks the record before it publishes the cancel.
      if (isCancelledOrFailed(record)) throw cancelledError(videoId, record.status);
      // Past its deadline but not yet swept: end it here rather than start work nobody will get.
      const overdue = await store.update(videoId, (latest) => deadlineReached(latest, now()));
      if (overdue !== null) {
        recordVideoFinished(overdue.record);
        throw cancelledError(videoId, `${overdue.record.status} (deadline)`);
      }
      if (record.stageRecords[stage].state === 'completed') {
        logger.info('stage already completed (a re-run after a crash); nothing to do');
        return { outputs: record.outputs };
      }

      let seen: VideoRecord | undefined;
      const started = await store.update(videoId, (latest) => {
        seen = latest;
        return stageStarted(latest, stage, attempt, now());
      });
      if (started === null) {
        const latest = seen ?? record;
        if (isCancelledOrFailed(latest)) throw cancelledError(videoId, latest.status);
        return { outputs: latest.outputs };
      }
      logger.info({ attempt }, 'stage started');
      attemptStartedAt = performance.now();
      const deadlineAt = started.record.deadlineAt;
      if (deadlineAt !== undefined) {
        // The sweeper ends an overdue video within its interval; this ends our part on the dot.
        deadlineTimer = setTimeout(() => {
          void store
            .update(videoId, (latest) => deadlineReached(latest, now()))
            .then((ended) => {
              if (ended !== null) recordVideoFinished(ended.record);
            })
            .catch((error: unknown) => logger.warn({ err: error }, 'could not record the deadline'))
            .finally(() => controller.abort(cancelledError(videoId, 'past its deadline')));
        }, Math.max(0, Date.parse(deadlineAt) - now().getTime()));
      }
      stageQueueWaitSeconds.labels({ stage }).observe((started.record.stageRecords[stage]?.waitMs ?? 0) / 1000);
      const timeStep = DENOISING_STAGES.includes(stage) ? stepTimer(stage) : undefined;

      const progress = new StageProgressWriter({
        job,
        videoId,
        stage,
        store,
        logger,
        now,
        ...(options.progressIntervalMs === undefined ? {} : { minIntervalMs: options.progressIntervalMs }),
        onVideoTerminal: (latest) => controller.abort(cancelledError(videoId, latest.status)),
      });
      const startedAt = performance.now();
      const result = await withinTimeout(
        handler({
          data,
          signal,
          reportProgress: (step, totalSteps) => {
            timeStep?.(step);
            progress.report(step, totalSteps);
          },
          artifacts,
          logger,
        }),
        options.timeoutMs,
        (error) => {
          timedOut = error;
          controller.abort(error);
        },
      );
      await progress.flush();

      let latest: VideoRecord | undefined;
      const completed = await store.update(videoId, (current) => {
        latest = current;
        return stageCompleted(current, stage, result.outputs, now());
      });
      // Cancelled while the last step ran: fail the job, so the flow runs no later stage.
      if (completed === null && latest !== undefined && isCancelledOrFailed(latest)) {
        throw cancelledError(videoId, latest.status);
      }
      observeAttempt('completed');
      if (completed !== null && completed.record.status === 'succeeded') recordVideoFinished(completed.record);
      const durationMs = completed?.record.stageRecords[stage]?.durationMs;
      if (durationMs !== undefined) {
        await options.durations?.record(stage, durationMs).catch((error: unknown) => logger.warn({ err: error }, 'could not record the stage duration'));
      }
      logger.info({ durationMs: Math.round(performance.now() - startedAt), outputs: result.outputs }, 'stage completed');
      return result;
    } catch (error) {
      const failure: ReturnType<typeof classifyStageFailure> =
        timedOut === undefined ? classifyStageFailure(error, signal) : { kind: 'transient', code: 'StageTimeout', message: timedOut.message };
      if (failure.kind === 'cancelled') {
        observeAttempt('cancelled');
        logger.info({ reason: failure.message }, 'stage cancelled');
        throw error instanceof StageError && error.code === 'StageCancelled' ? error : new StageError('StageCancelled', failure.message);
      }
      const videoError: VideoError = { code: failure.code, message: failure.message, stage };
      if (failure.kind === 'transient') {
        const attempts = job.opts.attempts ?? 1;
        if (job.attemptsMade + 1 < attempts) {
          observeAttempt('retried');
          stageRetries.labels({ stage }).inc();
          logger.warn({ err: error, attempt, attempts }, 'transient failure; the stage runs again after a backoff');
          try {
            await store.update(videoId, (record) => stageRetrying(record, stage, attempt, videoError, now()));
          } catch (updateError) {
            logger.warn({ err: updateError }, 'could not record the retry');
          }
          throw error;
        }
        logger.error({ err: error, attempt, attempts }, 'transient failure with no attempt left; the video fails');
      } else {
        logger.error({ err: error, code: failure.code }, failure.kind === 'bug' ? 'stage failed (a bug)' : 'stage failed');
      }
      observeAttempt('failed');
      await fail(videoError);
      if (error instanceof StageError) throw error;
      throw new UnrecoverableError(`${failure.code}: ${failure.message}`);
    } finally {
      clearTimeout(deadlineTimer);
      busy.end();
      workerSignal?.removeEventListener('abort', onWorkerAbort);
      cancels.release(videoId, controller);
    }
  };
}
