// The MagicVideo HTTP API (DESIGN.md §8): NestJS on Fastify. /v1/videos over the jobs core,
// /docs (OpenAPI 3.1 + Swagger UI), /healthz, /readyz, /metrics, the queue UI at /admin/queues and the
// web playground at /.
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { FlowProducer, Queue } from 'bullmq';
import {
  ApiKeyRegistry,
  ArtifactStore,
  artifactTrafficObserver,
  collectProcessMetrics,
  initialiseVideoMetrics,
  QUEUE_NAMES,
  registerQueueDepthMetrics,
  buildOpenApiDocument,
  closeRedisConnection,
  createLogger,
  createRedisConnection,
  createS3Client,
  ensureBucket,
  IdempotencyStore,
  installGracefulShutdown,
  loadConfigOrExit,
  RateLimiter,
  readApiConfig,
  redisPingCheck,
  s3BucketCheck,
  SHUTDOWN_EXIT_CODES,
  STAGE_NAMES,
  type StageName,
  VideoStore,
  VideoSweeper,
} from '@magicvideo/shared';
import { mountQueueBoard } from './admin/queue-board';
import { AppModule } from './app.module';
import { registerDocs } from './docs/register-docs';
import { ErrorEnvelopeFilter } from './errors/error-envelope.filter';
import { registerHttpRequestMetrics } from './metrics/http-request-metrics';
import { refuseDotSegments } from './errors/refuse-dot-segments';
import { MeteredVideoService } from './metrics/metered-video-service';
import { readModelManifest } from './model-manifest';
import { PinoNestLogger } from './pino-nest-logger';
import { PLAYGROUND_BUILD_DIR, servePlayground } from './playground/serve-playground';
import { startWebhookDelivery } from './webhooks/webhook-delivery';

/** The version of the HTTP API's document (info.version of /docs/openapi.json). */
const API_VERSION = '0.1.0';

async function main(): Promise<void> {
  const config = loadConfigOrExit(readApiConfig);
  const logger = createLogger({ service: 'api', level: config.logLevel, nodeEnv: config.nodeEnv });
  const shutdown = installGracefulShutdown({ logger, graceMs: config.shutdownGraceMs });
  collectProcessMetrics();
  initialiseVideoMetrics();

  // Registered first, closed last: the HTTP server drains its requests before the clients go.
  const redis = createRedisConnection(config.redisUrl, { purpose: 'commands', connectionName: 'api', logger });
  shutdown.register('redis', () => closeRedisConnection(redis));
  const s3 = createS3Client(config.s3);
  shutdown.register('s3', () => s3.destroy());

  try {
    if (config.s3.createBucket) {
      logger.info({ bucket: config.s3.bucket, result: await ensureBucket(s3, config.s3.bucket) }, 'bucket checked');
    }
    const manifest = await readModelManifest(config.modelsDir);
    const artifacts = new ArtifactStore(s3, config.s3.bucket, { observer: artifactTrafficObserver('api') });
    const store = new VideoStore({ redis, prefix: config.queuePrefix, artifacts });
    // Producers only: they share the commands connection (no blocking commands), which they do not close.
    const flowProducer = new FlowProducer({ connection: redis, prefix: config.queuePrefix });
    const queues = Object.fromEntries(
      STAGE_NAMES.map((stage) => [stage, new Queue(stage, { connection: redis, prefix: config.queuePrefix })]),
    ) as Record<StageName, Queue>;
    // Every queue of the contract (the stages and webhooks), for the depth metrics and the queue UI.
    const webhooksQueue = new Queue('webhooks', { connection: redis, prefix: config.queuePrefix });
    const observedQueues = QUEUE_NAMES.map((name) => (name === 'webhooks' ? webhooksQueue : queues[name]));
    shutdown.register('queues', async () => {
      await Promise.all([flowProducer.close(), ...observedQueues.map((queue) => queue.close())]);
    });
    // Queue depth is read in this process only, so the series exist once however many workers run.
    registerQueueDepthMetrics(observedQueues);

    const videoService = new MeteredVideoService({
      store,
      artifacts,
      flowProducer,
      queues,
      redis,
      queuePrefix: config.queuePrefix,
      manifest,
      presignExpirySeconds: config.presignExpirySeconds,
      attempts: config.stageAttempts,
      backoffMs: config.stageBackoffMs,
      webhooks: { keys: config.webhooks.keys, policy: config.webhooks.policy, progressIntervalMs: config.webhooks.progressIntervalMs },
      jobPolicy: config.jobPolicy,
      retention: config.retention,
    });
    // Workers sweep too; this keeps deadlines and retention enforced while no worker runs (KEDA at zero).
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
    shutdown.register('video sweeper', () => sweeper.close());
    // Registered after the queues, so closed before them: no delivery is added to a closed queue.
    const webhookDelivery = await startWebhookDelivery({ config, redis, store, artifacts, queue: webhooksQueue, logger });
    shutdown.register('webhook delivery', () => webhookDelivery.close());

    const app = await NestFactory.create<NestFastifyApplication>(
      AppModule.register({
        readinessChecks: { redis: redisPingCheck(redis), s3: s3BucketCheck(s3, config.s3.bucket) },
        videoService,
        videoWebhooks: webhookDelivery.videoWebhooks,
        apiKeys: new ApiKeyRegistry(config.apiKeys),
        idempotency: new IdempotencyStore({ redis, prefix: config.queuePrefix, ttlSeconds: config.idempotencyTtlSeconds }),
        rateLimiter: new RateLimiter({
          redis,
          prefix: config.queuePrefix,
          perMinute: config.rateLimitPerMinute,
          burst: config.rateLimitBurst,
        }),
        submissionLimits: { bodyLimitBytes: config.bodyLimitBytes, uploadLimitBytes: config.uploadLimitBytes },
        shutdownSignal: shutdown.stopping,
        logger,
      }),
      // bodyLimit: Fastify refuses a larger JSON body from its Content-Length, before reading it.
      new FastifyAdapter({ bodyLimit: config.bodyLimitBytes, multipart: { throwFileSizeLimit: true } }),
      { logger: new PinoNestLogger(logger) },
    );
    app.useGlobalFilters(new ErrorEnvelopeFilter(logger));
    const fastify = app.getHttpAdapter().getInstance();
    registerHttpRequestMetrics(fastify);
    refuseDotSegments(fastify);
    if (config.adminApiKey === undefined) logger.info('ADMIN_API_KEY unset: no queue UI at /admin/queues');
    else await mountQueueBoard(fastify, { queues: observedQueues, adminKey: config.adminApiKey });
    await registerDocs(app, buildOpenApiDocument({ version: API_VERSION, uploadLimitBytes: config.uploadLimitBytes }));
    await servePlayground(fastify, { directory: PLAYGROUND_BUILD_DIR, logger });
    shutdown.register('http server', () => app.close());
    await app.listen(config.port, '0.0.0.0');
    logger.info({ port: config.port, models: config.modelsDir, keys: config.apiKeys.length }, 'api listening');
  } catch (error) {
    logger.fatal({ err: error }, 'api failed to start');
    await shutdown.shutdown('startup failure', SHUTDOWN_EXIT_CODES.failed);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`api failed to start: ${String(error)}\n`);
  process.exit(1);
});
