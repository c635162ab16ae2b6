import { Queue, Worker } from 'bullmq';
import { readWorkerConfig, type WorkerConfig } from '../config/app-config';
import type { Environment } from '../config/env-schema';
import { loadConfigOrExit } from '../config/load-config-or-exit';
import { STAGE_NAMES, type StageName } from '../contracts/queue-names';
import { startHealthServer } from '../health/health-server';
import { redisPingCheck, s3BucketCheck } from '../health/readiness';
import { CancelListener } from '../jobs/cancel-channel';
import { applyRetentionLifecycle } from '../jobs/retention-lifecycle';
import { StageDurations } from '../jobs/stage-durations';
import { VideoStore } from '../jobs/video-store';
import { VideoSweeper } from '../jobs/video-sweeper';
import { type Closer, installGracefulShutdown, SHUTDOWN_EXIT_CODES } from '../lifecycle/graceful-shutdown';
import { createLogger, type Logger } from '../logging/logger';
import { artifactTrafficObserver } from '../metrics/artifact-metrics';
import { gaugeFamily } from '../metrics/metric-family';
import { collectProcessMetrics, renderMetrics } from '../metrics/process-metrics';
import { initialiseStageMetrics, stageStalls } from '../metrics/stage-metrics';
import { initialiseVideoMetrics } from '../metrics/video-metrics';
import { closeRedisConnection, createRedisConnection } from '../redis/redis-connection';
import { ArtifactStore } from '../storage/artifact-store';
import { createS3Client, ensureBucket } from '../storage/s3-client';
import { modelsReadiness } from './models-readiness';
import { createStageProcessor, type StageHandler } from './stage-job-runner';

/** What a stage's `load` is given: the process's configuration, logger and artifact store. */
export interface StageWorkerContext {
  /** the stage this worker serves (a label of its metrics, e.g. withModelMetrics) */
  stage: StageName;
  config: WorkerConfig;
  logger: Logger;
  artifacts: ArtifactStore;
  /** Releases what `load` opened (the model folder's sessions) at shutdown, after the BullMQ worker closed. */
  registerCloser(name: string, close: Closer): void;
}

export interface StageWorkerDefinition {
  stage: StageName;
  /**
   * BullMQ lockDuration suited to the stage's length (LOCK_DURATION_MS overrides it). Renewed
   * every half of it while the job runs, so it bounds how long a dead worker holds a job
   * before the stalled check hands it to another, not how long the stage may take.
   */
  lockDurationMs: number;
  /** One attempt's limit (STAGE_TIMEOUT_MS overrides it); default DEFAULT_STAGE_TIMEOUT_MS. */
  timeoutMs?: number;
  /** Runs once at start (open the model folder: models load once); the worker takes jobs after it. */
  load(context: StageWorkerContext): Promise<StageHandler>;
}

/** A stage attempt longer than this is taken for hung (the tiny model's stages take seconds, the base model's minutes). */
export const DEFAULT_STAGE_TIMEOUT_MS = 30 * 60_000;

/**
 * Everything a stage worker process does besides its stage: validated configuration, logger,
 * the stage's models loaded once (`/readyz` reports `models` until then, and the error if loading
 * failed, after which the process exits non-zero), the video record store, one cancel listener
 * per process, a BullMQ Worker on the stage's queue under the configured prefix with lock and
 * stalled-check settings, `/healthz`, `/readyz` and `/metrics` on HEALTH_PORT, and graceful shutdown. On
 * SIGTERM the worker stops fetching and `worker.close()` waits for the active jobs; if the grace
 * period runs out first the process exits non-zero and BullMQ's stalled-job check hands the job
 * to another worker.
 */
export async function runStageWorker(definition: StageWorkerDefinition, env: Environment = process.env): Promise<void> {
  const { stage } = definition;
  const service = `worker-${stage}`;
  const config = loadConfigOrExit(readWorkerConfig, env);
  const logger = createLogger({ service, level: config.logLevel, nodeEnv: config.nodeEnv, bindings: { queue: stage } });
  const shutdown = installGracefulShutdown({ logger, graceMs: config.shutdownGraceMs });
  const lockDuration = config.lockDurationMs ?? definition.lockDurationMs;
  const stalledInterval = config.stalledIntervalMs ?? lockDuration;

  // Registered first, closed last: the connections outlive everything that uses them.
  const readinessRedis = createRedisConnection(config.redisUrl, { purpose: 'commands', connectionName: `${service}:readiness`, logger });
  shutdown.register('readiness redis', () => closeRedisConnection(readinessRedis));
  const storeRedis = createRedisConnection(config.redisUrl, { purpose: 'commands', connectionName: `${service}:records`, logger });
  shutdown.register('records redis', () => closeRedisConnection(storeRedis));
  const workerRedis = createRedisConnection(config.redisUrl, { purpose: 'bullmq', connectionName: `${service}:bullmq`, logger });
  shutdown.register('worker redis', () => closeRedisConnection(workerRedis));
  const s3 = createS3Client(config.s3);
  shutdown.register('s3', () => s3.destroy());
  const models = modelsReadiness();
  collectProcessMetrics();
  initialiseVideoMetrics();
  initialiseStageMetrics(stage, config.concurrency);

  try {
    const health = await startHealthServer({
      port: config.healthPort,
      checks: { redis: redisPingCheck(readinessRedis), s3: s3BucketCheck(s3, config.s3.bucket), models: models.check },
      logger,
      metrics: renderMetrics,
    });
    shutdown.register('health server', () => health.close());
    if (config.s3.createBucket) await ensureBucket(s3, config.s3.bucket);
    const artifacts = new ArtifactStore(s3, config.s3.bucket, { observer: artifactTrafficObserver(stage) });
    const store = new VideoStore({ redis: storeRedis, prefix: config.queuePrefix, artifacts });
    const cancels = await CancelListener.start(config.redisUrl, config.queuePrefix, logger);
    shutdown.register('cancel listener', () => cancels.close());
    await startRetention({ config, store, redis: storeRedis, s3, logger, registerCloser: (name, close) => shutdown.register(name, close) });

    const loadStarted = performance.now();
    const handler = await definition.load({
      stage,
      config,
      logger,
      artifacts,
      registerCloser: (name, close) => shutdown.register(name, close),
    });
    models.loaded();
    const loadSeconds = (performance.now() - loadStarted) / 1000;
    gaugeFamily({ name: 'magicvideo_worker_models_load_seconds', help: "A worker's whole model loading at start (every session), by stage.", labelNames: ['stage'] })
      .labels({ stage })
      .set(loadSeconds);
    logger.info({ loadMs: Math.round(performance.now() - loadStarted), modelsDir: config.modelsDir }, 'models loaded');
    if (shutdown.stopping.aborted) return;

    const timeoutMs = config.stageTimeoutMs ?? definition.timeoutMs ?? DEFAULT_STAGE_TIMEOUT_MS;
    const durations = new StageDurations(storeRedis, config.queuePrefix);
    const worker = new Worker(stage, createStageProcessor({ stage, handler, store, cancels, artifacts, logger, timeoutMs, durations }), {
      connection: workerRedis,
      prefix: config.queuePrefix,
      concurrency: config.concurrency,
      lockDuration,
      stalledInterval,
      maxStalledCount: config.maxStalledCount,
    });
    // Every line about a job names its video and stage (job data is validated by the processor; here it is only read for the log).
    const videoOf = (job: { data: unknown } | undefined): unknown => (job?.data as { videoId?: unknown } | undefined)?.videoId;
    worker.on('active', (job) => logger.info({ jobId: job.id, videoId: videoOf(job), stage }, 'job started'));
    worker.on('completed', (job) => logger.info({ jobId: job.id, videoId: videoOf(job), stage }, 'job completed'));
    worker.on('failed', (job, error) => logger.warn({ jobId: job?.id, videoId: videoOf(job), stage, err: error }, 'job failed'));
    worker.on('stalled', (jobId) => {
      stageStalls.labels({ stage }).inc();
      logger.warn({ jobId, stage }, 'job stalled; moved back to wait');
    });
    worker.on('error', (error) => logger.error({ err: error }, 'worker error'));
    shutdown.register('bullmq worker', () => worker.close());
    logger.info(
      { prefix: config.queuePrefix, concurrency: config.concurrency, lockDuration, stalledInterval, maxStalledCount: config.maxStalledCount, timeoutMs },
      'worker started',
    );
  } catch (error) {
    models.failed(error);
    logger.fatal({ err: error }, 'worker failed to start');
    await shutdown.shutdown('startup failure', SHUTDOWN_EXIT_CODES.failed);
  }
}

/**
 * Deadlines and retention (issue 15) in every worker process: the bucket's lifecycle rules set at
 * start (RESULT_/INTERMEDIATE_RETENTION_SECONDS), and a sweeper that ends overdue videos and
 * deletes what is due. Sweepers in several processes agree (see VideoSweeper).
 */
async function startRetention(input: {
  config: WorkerConfig;
  store: VideoStore;
  redis: ReturnType<typeof createRedisConnection>;
  s3: ReturnType<typeof createS3Client>;
  logger: Logger;
  registerCloser: (name: string, close: Closer) => void;
}): Promise<void> {
  const { config, store, redis, s3, logger } = input;
  if (config.retention.lifecycleRules) {
    try {
      const outcome = await applyRetentionLifecycle(s3, config.s3.bucket, config.retention);
      logger.info({ outcome, bucket: config.s3.bucket }, 'retention lifecycle rules');
    } catch (error) {
      // the sweeper still enforces retention; an operator must grant s3:PutLifecycleConfiguration or set S3_LIFECYCLE_RULES=false
      logger.error({ err: error, bucket: config.s3.bucket }, 'could not set the retention lifecycle rules');
    }
  }
  // Producers only, on the commands connection (no blocking commands): to remove an ended video's waiting jobs.
  const queues = Object.fromEntries(STAGE_NAMES.map((name) => [name, new Queue(name, { connection: redis, prefix: config.queuePrefix })])) as Record<
    StageName,
    Queue
  >;
  const sweeper = new VideoSweeper({
    store,
    redis,
    prefix: config.queuePrefix,
    queues,
    s3,
    bucket: config.s3.bucket,
    retention: config.retention,
    logger,
    intervalMs: config.retention.sweepIntervalMs,
  }).start();
  input.registerCloser('video sweeper', async () => {
    await sweeper.close();
    await Promise.all(Object.values(queues).map((queue) => queue.close()));
  });
}
