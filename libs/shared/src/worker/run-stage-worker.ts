import type { S3Client } from '@aws-sdk/client-s3';
import { type Processor, Worker } from 'bullmq';
import { readWorkerConfig, type WorkerConfig } from '../config/app-config';
import type { Environment } from '../config/env-schema';
import { loadConfigOrExit } from '../config/load-config-or-exit';
import type { StageName } from '../contracts/queue-names';
import { startHealthServer } from '../health/health-server';
import { redisPingCheck, s3BucketCheck } from '../health/readiness';
import { installGracefulShutdown, SHUTDOWN_EXIT_CODES } from '../lifecycle/graceful-shutdown';
import { createLogger, type Logger } from '../logging/logger';
import { closeRedisConnection, createRedisConnection } from '../redis/redis-connection';
import { createS3Client } from '../storage/s3-client';

/** What a stage's processor is given besides the job: the process's configuration and clients. */
export interface StageContext {
  config: WorkerConfig;
  logger: Logger;
  s3: S3Client;
}

export interface StageWorkerDefinition {
  stage: StageName;
  /** Builds the BullMQ processor once the configuration and clients exist. */
  createProcessor(context: StageContext): Processor;
}

/**
 * Everything a stage worker process does besides its stage: validated configuration, logger,
 * a BullMQ Worker on the stage's queue under the configured prefix, `/healthz` and `/readyz` on
 * HEALTH_PORT, and graceful shutdown. On SIGTERM the worker stops fetching and `worker.close()`
 * waits for the active jobs; if the grace period runs out first the process exits non-zero and
 * BullMQ's stalled-job check hands the job to another worker.
 */
export async function runStageWorker(definition: StageWorkerDefinition, env: Environment = process.env): Promise<void> {
  const { stage } = definition;
  const service = `worker-${stage}`;
  const config = loadConfigOrExit(readWorkerConfig, env);
  const logger = createLogger({ service, level: config.logLevel, nodeEnv: config.nodeEnv, bindings: { queue: stage } });
  const shutdown = installGracefulShutdown({ logger, graceMs: config.shutdownGraceMs });

  // Registered first, closed last: the connections outlive everything that uses them.
  const readinessRedis = createRedisConnection(config.redisUrl, { purpose: 'commands', connectionName: `${service}:readiness`, logger });
  shutdown.register('readiness redis', () => closeRedisConnection(readinessRedis));
  const workerRedis = createRedisConnection(config.redisUrl, { purpose: 'bullmq', connectionName: `${service}:bullmq`, logger });
  shutdown.register('worker redis', () => closeRedisConnection(workerRedis));
  const s3 = createS3Client(config.s3);
  shutdown.register('s3', () => s3.destroy());

  try {
    const health = await startHealthServer({
      port: config.healthPort,
      checks: { redis: redisPingCheck(readinessRedis), s3: s3BucketCheck(s3, config.s3.bucket) },
      logger,
    });
    shutdown.register('health server', () => health.close());

    const worker = new Worker(stage, definition.createProcessor({ config, logger, s3 }), {
      connection: workerRedis,
      prefix: config.queuePrefix,
      concurrency: config.concurrency,
    });
    worker.on('active', (job) => logger.info({ jobId: job.id }, 'job started'));
    worker.on('completed', (job) => logger.info({ jobId: job.id }, 'job completed'));
    worker.on('failed', (job, error) => logger.warn({ jobId: job?.id, err: error }, 'job failed'));
    worker.on('error', (error) => logger.error({ err: error }, 'worker error'));
    shutdown.register('bullmq worker', () => worker.close());
    logger.info({ prefix: config.queuePrefix, concurrency: config.concurrency }, 'worker started');
  } catch (error) {
    logger.fatal({ err: error }, 'worker failed to start');
    await shutdown.shutdown('startup failure', SHUTDOWN_EXIT_CODES.failed);
  }
}
