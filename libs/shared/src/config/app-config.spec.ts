import { describe, expect, it } from 'vitest';
import { readApiConfig, readWorkerConfig } from './app-config';
import { ConfigError } from './config-error';

const minimal = { REDIS_URL: 'redis://localhost:6379', S3_BUCKET: 'magicvideo' };

function configErrorOf(read: () => unknown): ConfigError {
  try {
    read();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('readApiConfig', () => {
  it('applies the documented defaults to a minimal environment', () => {
    expect(readApiConfig(minimal)).toEqual({
      port: 3000,
      redisUrl: 'redis://localhost:6379',
      s3: {
        endpoint: undefined,
        region: 'us-east-1',
        bucket: 'magicvideo',
        credentials: undefined,
        forcePathStyle: false,
        createBucket: false,
      },
      queuePrefix: '{mv}',
      logLevel: 'info',
      nodeEnv: 'production',
      shutdownGraceMs: 30_000,
    });
  });

  it('reads every variable when set', () => {
    const config = readApiConfig({
      ...minimal,
      PORT: '8080',
      REDIS_URL: 'rediss://user:pw@redis.internal:6380/2',
      S3_ENDPOINT: 'http://127.0.0.1:9000',
      S3_REGION: 'eu-west-1',
      S3_ACCESS_KEY_ID: 'key',
      S3_SECRET_ACCESS_KEY: 'secret',
      S3_FORCE_PATH_STYLE: 'true',
      S3_CREATE_BUCKET: '1',
      QUEUE_PREFIX: 'prod{mv}',
      LOG_LEVEL: 'debug',
      NODE_ENV: 'development',
      SHUTDOWN_GRACE_MS: '5000',
    });
    expect(config.port).toBe(8080);
    expect(config.redisUrl).toBe('rediss://user:pw@redis.internal:6380/2');
    expect(config.s3).toEqual({
      endpoint: 'http://127.0.0.1:9000',
      region: 'eu-west-1',
      bucket: 'magicvideo',
      credentials: { accessKeyId: 'key', secretAccessKey: 'secret' },
      forcePathStyle: true,
      createBucket: true,
    });
    expect(config.queuePrefix).toBe('prod{mv}');
    expect(config.logLevel).toBe('debug');
    expect(config.nodeEnv).toBe('development');
    expect(config.shutdownGraceMs).toBe(5000);
  });

  it('names the variable, what was expected and what it got', () => {
    const error = configErrorOf(() => readApiConfig({ ...minimal, REDIS_URL: 'notaurl' }));
    expect(error.message).toContain('REDIS_URL: expected a redis:// or rediss:// URL, got "notaurl"');
  });

  it('lists every bad variable at once, including missing required ones', () => {
    const error = configErrorOf(() =>
      readApiConfig({ REDIS_URL: 'http://localhost', PORT: '70000', QUEUE_PREFIX: 'bull', S3_FORCE_PATH_STYLE: 'maybe' }),
    );
    expect(error.issues.map((issue) => issue.variable).sort()).toEqual(
      ['PORT', 'QUEUE_PREFIX', 'REDIS_URL', 'S3_BUCKET', 'S3_FORCE_PATH_STYLE'].sort(),
    );
    expect(error.message).toContain('S3_BUCKET: expected a bucket name (3-63 of a-z 0-9 . -), it is not set');
    expect(error.message).toContain('QUEUE_PREFIX: expected a Redis key prefix with a non-empty hash tag');
  });

  it('masks the password of a URL it echoes', () => {
    const error = configErrorOf(() => readApiConfig({ ...minimal, REDIS_URL: 'http://:hunter2@redis.internal:6379' }));
    expect(error.message).toContain('got "http://:***@redis.internal:6379"');
    expect(error.message).not.toContain('hunter2');
  });

  it('treats an empty variable as unset', () => {
    expect(readApiConfig({ ...minimal, PORT: '' }).port).toBe(3000);
  });

  it('rejects an access key without its secret', () => {
    const error = configErrorOf(() => readApiConfig({ ...minimal, S3_ACCESS_KEY_ID: 'key' }));
    expect(error.issues).toEqual([
      { variable: 'S3_SECRET_ACCESS_KEY', expected: 'a value, because S3_ACCESS_KEY_ID is set', received: undefined },
    ]);
  });
});

describe('readWorkerConfig', () => {
  const worker = { ...minimal, MODELS_DIR: '/models' };

  it('adds the health port, concurrency, the models folder and the BullMQ lock settings', () => {
    const config = readWorkerConfig({
      ...worker,
      HEALTH_PORT: '9100',
      WORKER_CONCURRENCY: '2',
      LOCK_DURATION_MS: '60000',
      STALLED_INTERVAL_MS: '30000',
      MAX_STALLED_COUNT: '0',
      ORT_INTRA_OP_THREADS: '2',
      DEBUG_MODEL_CALL_MIN_MS: '1500',
    });
    expect(config).toMatchObject({
      healthPort: 9100,
      concurrency: 2,
      modelsDir: '/models',
      queuePrefix: '{mv}',
      lockDurationMs: 60_000,
      stalledIntervalMs: 30_000,
      maxStalledCount: 0,
      ortIntraOpThreads: 2,
      debugModelCallMinMs: 1500,
    });
  });

  it('leaves the lock to the stage, and thread count and the slow-call knob unset, by default', () => {
    expect(readWorkerConfig(worker)).toMatchObject({
      healthPort: 8081,
      concurrency: 1,
      lockDurationMs: undefined,
      stalledIntervalMs: undefined,
      maxStalledCount: 2,
      ortIntraOpThreads: undefined,
      debugModelCallMinMs: undefined,
    });
  });

  it('requires MODELS_DIR, saying what to set', () => {
    const error = configErrorOf(() => readWorkerConfig(minimal));
    expect(error.issues.map((issue) => issue.variable)).toEqual(['MODELS_DIR']);
    expect(error.message).toContain('MODELS_DIR: expected the model folder (for example assets/models/magicvideo-tiny), it is not set');
  });

  it('rejects a zero concurrency or lock duration and does not read PORT', () => {
    const error = configErrorOf(() => readWorkerConfig({ ...worker, WORKER_CONCURRENCY: '0', LOCK_DURATION_MS: '0', PORT: 'nonsense' }));
    expect(error.issues.map((issue) => issue.variable)).toEqual(['WORKER_CONCURRENCY', 'LOCK_DURATION_MS']);
  });
});
