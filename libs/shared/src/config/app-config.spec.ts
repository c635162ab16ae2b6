import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashApiKey } from '../api/api-keys';
import { readApiConfig, readWorkerConfig } from './app-config';
import { ConfigError } from './config-error';

const minimal = { REDIS_URL: 'redis://localhost:6379', S3_BUCKET: 'magicvideo' };
const apiMinimal = { ...minimal, API_KEYS: 'team-a:secret-a', MODELS_DIR: '/models/tiny' };

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
    expect(readApiConfig(apiMinimal)).toEqual({
      port: 3000,
      apiKeys: [{ id: 'team-a', sha256: hashApiKey('secret-a') }],
      modelsDir: '/models/tiny',
      rateLimitPerMinute: 60,
      rateLimitBurst: 10,
      bodyLimitBytes: 1_048_576,
      uploadLimitBytes: 20_971_520,
      presignExpirySeconds: 3600,
      stageAttempts: 6,
      stageBackoffMs: 2000,
      idempotencyTtlSeconds: 86_400,
      adminApiKey: undefined,
      webhooks: {
        keys: {},
        policy: { allowLoopback: false, requireHttps: true },
        maxAttempts: 12,
        backoff: { baseMs: 10_000, maxMs: 21_600_000 },
        timeoutMs: 10_000,
        concurrency: 10,
        progressIntervalMs: 10_000,
      },
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
      retention: { resultSeconds: 604_800, intermediateSeconds: 86_400, lifecycleRules: true, sweepIntervalMs: 1000 },
      jobPolicy: { maxPriority: 10, maxPriorityByKey: {}, maxDeadlineSeconds: 86_400 },
    });
  });

  it('reads the job policy and retention (issue 15), intermediates never kept longer than results', () => {
    const config = readApiConfig({
      ...apiMinimal,
      PRIORITY_MAX: '50',
      PRIORITY_MAX_BY_KEY: 'team-a=200',
      MAX_DEADLINE_SECONDS: '600',
      RESULT_RETENTION_SECONDS: '100',
      INTERMEDIATE_RETENTION_SECONDS: '500',
      S3_LIFECYCLE_RULES: 'false',
      SWEEP_INTERVAL_MS: '250',
    });
    expect(config.jobPolicy).toEqual({ maxPriority: 50, maxPriorityByKey: { 'team-a': 200 }, maxDeadlineSeconds: 600 });
    expect(config.retention).toEqual({ resultSeconds: 100, intermediateSeconds: 100, lifecycleRules: false, sweepIntervalMs: 250 });
    expect(() => readApiConfig({ ...apiMinimal, PRIORITY_MAX_BY_KEY: 'nobody=5' })).toThrow(/PRIORITY_MAX_BY_KEY/);
    expect(() => readApiConfig({ ...apiMinimal, PRIORITY_MAX_BY_KEY: 'team-a=-1' })).toThrow(/PRIORITY_MAX_BY_KEY/);
    expect(() => readApiConfig({ ...apiMinimal, PRIORITY_MAX: '1001' })).toThrow(/PRIORITY_MAX/);
  });

  it('reads every variable when set', () => {
    const config = readApiConfig({
      ...apiMinimal,
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
      RATE_LIMIT_PER_MINUTE: '120',
      RATE_LIMIT_BURST: '4',
      BODY_LIMIT_BYTES: '2048',
      UPLOAD_LIMIT_BYTES: '4096',
      PRESIGN_EXPIRY_SECONDS: '600',
      STAGE_ATTEMPTS: '5',
      STAGE_BACKOFF_MS: '100',
      IDEMPOTENCY_TTL_SECONDS: '60',
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
    expect(config).toMatchObject({
      rateLimitPerMinute: 120,
      rateLimitBurst: 4,
      bodyLimitBytes: 2048,
      uploadLimitBytes: 4096,
      presignExpirySeconds: 600,
      stageAttempts: 5,
      stageBackoffMs: 100,
      idempotencyTtlSeconds: 60,
    });
  });

  it('reads webhook secrets from WEBHOOK_SECRETS for configured keys only, never echoing one', () => {
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const previous = 'whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD';
    const config = readApiConfig({ ...apiMinimal, WEBHOOK_SECRETS: `team-a=${secret}|${previous}`, WEBHOOK_ALLOW_LOOPBACK: 'true', WEBHOOK_REQUIRE_HTTPS: 'false' });
    expect(config.webhooks.keys).toEqual({ 'team-a': { secrets: [secret, previous] } });
    expect(config.webhooks.policy).toEqual({ allowLoopback: true, requireHttps: false });
    const unknownKey = configErrorOf(() => readApiConfig({ ...apiMinimal, WEBHOOK_SECRETS: `team-b=${secret}` }));
    expect(unknownKey.message).toContain('WEBHOOK_SECRETS');
    const malformed = configErrorOf(() => readApiConfig({ ...apiMinimal, WEBHOOK_SECRETS: `team-a=${secret.slice(0, 10)}` }));
    expect(malformed.message).toContain('WEBHOOK_SECRETS');
    expect(malformed.message).not.toContain(secret.slice(6, 10));
  });

  it('names the variable, what was expected and what it got', () => {
    const error = configErrorOf(() => readApiConfig({ ...apiMinimal, REDIS_URL: 'notaurl' }));
    expect(error.message).toContain('REDIS_URL: expected a redis:// or rediss:// URL, got "notaurl"');
  });

  it('lists every bad variable at once, including missing required ones', () => {
    const error = configErrorOf(() =>
      readApiConfig({ REDIS_URL: 'http://localhost', PORT: '70000', QUEUE_PREFIX: 'bull', S3_FORCE_PATH_STYLE: 'maybe' }),
    );
    expect(error.issues.map((issue) => issue.variable).sort()).toEqual(
      ['API_KEYS', 'MODELS_DIR', 'PORT', 'QUEUE_PREFIX', 'REDIS_URL', 'S3_BUCKET', 'S3_FORCE_PATH_STYLE'].sort(),
    );
    expect(error.message).toContain('S3_BUCKET: expected a bucket name (3-63 of a-z 0-9 . -), it is not set');
    expect(error.message).toContain('QUEUE_PREFIX: expected a Redis key prefix with a non-empty hash tag');
  });

  it('masks the password of a URL it echoes', () => {
    const error = configErrorOf(() => readApiConfig({ ...apiMinimal, REDIS_URL: 'http://:hunter2@redis.internal:6379' }));
    expect(error.message).toContain('got "http://:***@redis.internal:6379"');
    expect(error.message).not.toContain('hunter2');
  });

  it('treats an empty variable as unset', () => {
    expect(readApiConfig({ ...apiMinimal, PORT: '' }).port).toBe(3000);
  });

  it('rejects an access key without its secret', () => {
    const error = configErrorOf(() => readApiConfig({ ...apiMinimal, S3_ACCESS_KEY_ID: 'key' }));
    expect(error.issues).toEqual([
      { variable: 'S3_SECRET_ACCESS_KEY', expected: 'a value, because S3_ACCESS_KEY_ID is set', received: undefined },
    ]);
  });
});

describe('readApiConfig: API keys', () => {
  let folder: string;
  const keysFile = async (name: string, content: string): Promise<string> => {
    const file = path.join(folder, name);
    await writeFile(file, content);
    return file;
  };
  beforeAll(async () => {
    folder = await mkdtemp(path.join(tmpdir(), 'mv-api-keys-'));
  });
  afterAll(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it('requires API_KEYS or API_KEYS_FILE', () => {
    const error = configErrorOf(() => readApiConfig({ ...minimal, MODELS_DIR: '/models/tiny' }));
    expect(error.issues).toEqual([
      { variable: 'API_KEYS', expected: 'API_KEYS or API_KEYS_FILE to be set (at least one)', received: undefined },
    ]);
  });

  it('merges the variable and the file, hashing keys given in clear', async () => {
    const file = await keysFile(
      'merged.json',
      JSON.stringify([
        { id: 'team-b', sha256: hashApiKey('secret-b').toUpperCase() },
        { id: 'team-c', key: 'secret-c' },
      ]),
    );
    const config = readApiConfig({ ...apiMinimal, API_KEYS_FILE: file });
    expect(config.apiKeys).toEqual([
      { id: 'team-a', sha256: hashApiKey('secret-a') },
      { id: 'team-b', sha256: hashApiKey('secret-b') },
      { id: 'team-c', sha256: hashApiKey('secret-c') },
    ]);
  });

  it('reads the file alone', async () => {
    const file = await keysFile('alone.json', JSON.stringify([{ id: 'team-b', key: 'secret-b' }]));
    const config = readApiConfig({ ...minimal, MODELS_DIR: '/models/tiny', API_KEYS_FILE: file });
    expect(config.apiKeys).toEqual([{ id: 'team-b', sha256: hashApiKey('secret-b') }]);
  });

  it('hides the keys of a malformed API_KEYS and says what is wrong', () => {
    const error = configErrorOf(() => readApiConfig({ ...apiMinimal, API_KEYS: 'team-a:hunter2,team-a:other' }));
    expect(error.issues).toHaveLength(1);
    expect(error.message).toContain('API_KEYS: expected comma-separated id:key pairs (id "team-a" appears twice)');
    expect(error.message).toContain('<hidden, 27 characters>');
    expect(error.message).not.toContain('hunter2');
  });

  it('names an unreadable or malformed keys file without echoing its content', async () => {
    const missing = path.join(folder, 'missing.json');
    expect(configErrorOf(() => readApiConfig({ ...apiMinimal, API_KEYS_FILE: missing })).message).toContain(
      `API_KEYS_FILE: expected a readable JSON file [{ "id", "sha256" }] (ENOENT`,
    );
    const broken = await keysFile('broken.json', '[{ "id": "team-b", "key": hunter2 }]');
    const error = configErrorOf(() => readApiConfig({ ...apiMinimal, API_KEYS_FILE: broken }));
    expect(error.message).toContain('(not valid JSON)');
    expect(error.message).not.toContain('hunter2');
  });

  it('refuses an id that appears in both the variable and the file', async () => {
    const file = await keysFile('clash.json', JSON.stringify([{ id: 'team-a', key: 'another' }]));
    const error = configErrorOf(() => readApiConfig({ ...apiMinimal, API_KEYS_FILE: file }));
    expect(error.issues.map((issue) => issue.variable)).toEqual(['API_KEYS_FILE']);
    expect(error.message).toContain('id "team-a" appears twice');
  });

  it('reports key problems together with the other bad variables', () => {
    const error = configErrorOf(() => readApiConfig({ ...apiMinimal, API_KEYS: 'no-colon', PORT: '-1' }));
    expect(error.issues.map((issue) => issue.variable).sort()).toEqual(['API_KEYS', 'PORT']);
  });

  it('rejects a presign expiry beyond the 7 days SigV4 allows', () => {
    const error = configErrorOf(() => readApiConfig({ ...apiMinimal, PRESIGN_EXPIRY_SECONDS: '604801' }));
    expect(error.issues.map((issue) => issue.variable)).toEqual(['PRESIGN_EXPIRY_SECONDS']);
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
      STAGE_TIMEOUT_MS: '90000',
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
      stageTimeoutMs: 90_000,
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
      stageTimeoutMs: undefined,
    });
  });

  it('runs models on cpu unless ORT_EXECUTION_PROVIDER asks for cuda, and names any other value', () => {
    expect(readWorkerConfig(worker).ortExecutionProvider).toBe('cpu');
    expect(readWorkerConfig({ ...worker, ORT_EXECUTION_PROVIDER: 'cuda' }).ortExecutionProvider).toBe('cuda');
    const error = configErrorOf(() => readWorkerConfig({ ...worker, ORT_EXECUTION_PROVIDER: 'gpu' }));
    expect(error.message).toContain('ORT_EXECUTION_PROVIDER: expected one of cpu, cuda');
  });

  it('requires MODELS_DIR, saying what to set', () => {
    const error = configErrorOf(() => readWorkerConfig(minimal));
    expect(error.issues.map((issue) => issue.variable)).toEqual(['MODELS_DIR']);
    expect(error.message).toContain('MODELS_DIR: expected the model folder (for example assets/models/magicvideo-shapes), it is not set');
  });

  it('rejects a zero concurrency or lock duration and does not read PORT', () => {
    const error = configErrorOf(() => readWorkerConfig({ ...worker, WORKER_CONCURRENCY: '0', LOCK_DURATION_MS: '0', PORT: 'nonsense' }));
    expect(error.issues.map((issue) => issue.variable)).toEqual(['WORKER_CONCURRENCY', 'LOCK_DURATION_MS']);
  });
});
