// The MagicVideo HTTP API (DESIGN.md §8): NestJS on Fastify. For now /healthz and /readyz.
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import {
  closeRedisConnection,
  createLogger,
  createRedisConnection,
  createS3Client,
  ensureBucket,
  installGracefulShutdown,
  loadConfigOrExit,
  readApiConfig,
  redisPingCheck,
  s3BucketCheck,
  SHUTDOWN_EXIT_CODES,
} from '@magicvideo/shared';
import { AppModule } from './app.module';
import { PinoNestLogger } from './pino-nest-logger';

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
    const app = await NestFactory.create<NestFastifyApplication>(
      AppModule.register({
        readinessChecks: { redis: redisPingCheck(redis), s3: s3BucketCheck(s3, config.s3.bucket) },
      }),
      new FastifyAdapter(),
      { logger: new PinoNestLogger(logger) },
    );
    shutdown.register('http server', () => app.close());
    await app.listen(config.port, '0.0.0.0');
    logger.info({ port: config.port }, 'api listening');
  } catch (error) {
    logger.fatal({ err: error }, 'api failed to start');
    await shutdown.shutdown('startup failure', SHUTDOWN_EXIT_CODES.failed);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`api failed to start: ${String(error)}\n`);
  process.exit(1);
});
