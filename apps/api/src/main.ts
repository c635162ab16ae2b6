// The MagicVideo HTTP API (DESIGN.md §8): NestJS on Fastify. /v1/videos over the jobs core,
// /docs (OpenAPI 3.1 + Swagger UI), /healthz and /readyz.
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { FlowProducer, Queue } from 'bullmq';
import {
  ApiKeyRegistry,
  ArtifactStore,
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
  VideoService,
  VideoStore,
} from '@magicvideo/shared';
import { AppModule } from './app.module';
import { registerDocs } from './docs/register-docs';
import { ErrorEnvelopeFilter } from './errors/error-envelope.filter';
import { readModelManifest } from './model-manifest';
import { PinoNestLogger } from './pino-nest-logger';

/** The version of the HTTP API's document (info.version of /docs/openapi.json). */
const API_VERSION = '0.1.0';

async function main(): Promise<void> {
  const config = loadConfigOrExit(readApiConfig);
  const logger = createLogger({ service: 'api', level: config.logLevel, nodeEnv: config.nodeEnv });
  const shutdown = installGracefulShutdown({ logger, graceMs: config.shutdownGraceMs });

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
    const artifacts = new ArtifactStore(s3, config.s3.bucket);
    const store = new VideoStore({ redis, prefix: config.queuePrefix, artifacts });
    // Producers only: they share the commands connection (no blocking commands), which they do not close.
    const flowProducer = new FlowProducer({ connection: redis, prefix: config.queuePrefix });
    const queues = Object.fromEntries(
      STAGE_NAMES.map((stage) => [stage, new Queue(stage, { connection: redis, prefix: config.queuePrefix })]),
    ) as Record<StageName, Queue>;
    shutdown.register('queues', async () => {
      await Promise.all([flowProducer.close(), ...Object.values(queues).map((queue) => queue.close())]);
    });

    const videoService = new VideoService({
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
    });

    const app = await NestFactory.create<NestFastifyApplication>(
      AppModule.register({
        readinessChecks: { redis: redisPingCheck(redis), s3: s3BucketCheck(s3, config.s3.bucket) },
        videoService,
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
    await registerDocs(app, buildOpenApiDocument({ version: API_VERSION, uploadLimitBytes: config.uploadLimitBytes }));
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
