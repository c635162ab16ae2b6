import { z } from 'zod';
import { DEFAULT_QUEUE_PREFIX, isValidQueuePrefix } from '../contracts/redis-prefix';
import { type Environment, type EnvValues, envVariable, parseEnvironment } from './env-schema';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const NODE_ENVS = ['production', 'development', 'test'] as const;
export type NodeEnv = (typeof NODE_ENVS)[number];

const port = (fallback: number) =>
  z.coerce.number().int().min(0).max(65_535).default(fallback);
const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const bool = (fallback: boolean) => z.stringbool().default(fallback);
const urlWithProtocols = (protocols: readonly string[]) =>
  z.string().refine((value) => URL.canParse(value) && protocols.includes(new URL(value).protocol));

/** Variables every process reads (API and workers). */
const commonVariables = {
  REDIS_URL: envVariable('a redis:// or rediss:// URL', urlWithProtocols(['redis:', 'rediss:'])),
  S3_ENDPOINT: envVariable(
    'an http:// or https:// URL (leave unset for AWS S3)',
    urlWithProtocols(['http:', 'https:']).optional(),
  ),
  S3_REGION: envVariable('a region name such as us-east-1', z.string().min(1).default('us-east-1')),
  // S3 bucket naming rules: 3-63 lowercase letters, digits, dots and hyphens.
  S3_BUCKET: envVariable('a bucket name (3-63 of a-z 0-9 . -)', z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/)),
  S3_ACCESS_KEY_ID: envVariable('an access key id (or unset for the default AWS credential chain)', z.string().optional()),
  S3_SECRET_ACCESS_KEY: envVariable(
    'a secret access key (or unset for the default AWS credential chain)',
    z.string().optional(),
    { sensitive: true },
  ),
  S3_FORCE_PATH_STYLE: envVariable('true or false', bool(false)),
  S3_CREATE_BUCKET: envVariable('true or false', bool(false)),
  QUEUE_PREFIX: envVariable(
    'a Redis key prefix with a non-empty hash tag and no ":", such as {mv}',
    z.string().refine(isValidQueuePrefix).default(DEFAULT_QUEUE_PREFIX),
  ),
  LOG_LEVEL: envVariable(`one of ${LOG_LEVELS.join(', ')}`, z.enum(LOG_LEVELS).default('info')),
  NODE_ENV: envVariable(`one of ${NODE_ENVS.join(', ')}`, z.enum(NODE_ENVS).default('production')),
  SHUTDOWN_GRACE_MS: envVariable('a positive integer of milliseconds', positiveInt(30_000)),
};

const apiVariables = {
  ...commonVariables,
  PORT: envVariable('a TCP port (0-65535)', port(3000)),
};

const optionalPositiveInt = z.coerce.number().int().positive().optional();

const workerVariables = {
  ...commonVariables,
  HEALTH_PORT: envVariable('a TCP port (0-65535)', port(8081)),
  WORKER_CONCURRENCY: envVariable('a positive integer', positiveInt(1)),
  MODELS_DIR: envVariable('the model folder (for example assets/models/magicvideo-tiny)', z.string().min(1)),
  // Unset: the stage's own lock duration (runStageWorker's definition), and a stalled check as often.
  LOCK_DURATION_MS: envVariable('a positive integer of milliseconds (BullMQ lockDuration)', optionalPositiveInt),
  STALLED_INTERVAL_MS: envVariable('a positive integer of milliseconds (BullMQ stalledInterval)', optionalPositiveInt),
  MAX_STALLED_COUNT: envVariable('a non-negative integer (stalls before a job fails)', z.coerce.number().int().min(0).default(2)),
  ORT_INTRA_OP_THREADS: envVariable('a positive integer (onnxruntime threads per model call)', optionalPositiveInt),
  DEBUG_MODEL_CALL_MIN_MS: envVariable('a positive integer of milliseconds (tests only)', optionalPositiveInt),
};

export interface S3Config {
  /** Unset for AWS S3; set for MinIO, s3rver or another S3-compatible server. */
  endpoint: string | undefined;
  region: string;
  bucket: string;
  /** Undefined means the AWS SDK's default credential chain. */
  credentials: { accessKeyId: string; secretAccessKey: string } | undefined;
  forcePathStyle: boolean;
  /** Create the bucket at start when it is missing (development and tests). */
  createBucket: boolean;
}

export interface CommonConfig {
  redisUrl: string;
  s3: S3Config;
  queuePrefix: string;
  logLevel: LogLevel;
  nodeEnv: NodeEnv;
  shutdownGraceMs: number;
}

export interface ApiConfig extends CommonConfig {
  port: number;
}

export interface WorkerConfig extends CommonConfig {
  healthPort: number;
  concurrency: number;
  modelsDir: string;
  /** BullMQ lockDuration; undefined means the stage's own default. */
  lockDurationMs: number | undefined;
  /** BullMQ stalledInterval; undefined means the lock duration. */
  stalledIntervalMs: number | undefined;
  /** Stalls a job survives before BullMQ fails it (a worker killed mid-stage is one stall). */
  maxStalledCount: number;
  /** onnxruntime intra-op threads; undefined lets onnxruntime choose. */
  ortIntraOpThreads: number | undefined;
  /**
   * Test knob: every model call lasts at least this long, its session thread sleeping the rest,
   * so a test can make one call outlast the lock. Never set in production.
   */
  debugModelCallMinMs: number | undefined;
}

function commonConfig(values: EnvValues<typeof commonVariables>): CommonConfig {
  const accessKeyId = values.S3_ACCESS_KEY_ID;
  const secretAccessKey = values.S3_SECRET_ACCESS_KEY;
  return {
    redisUrl: values.REDIS_URL,
    s3: {
      endpoint: values.S3_ENDPOINT,
      region: values.S3_REGION,
      bucket: values.S3_BUCKET,
      credentials: accessKeyId !== undefined && secretAccessKey !== undefined ? { accessKeyId, secretAccessKey } : undefined,
      forcePathStyle: values.S3_FORCE_PATH_STYLE,
      createBucket: values.S3_CREATE_BUCKET,
    },
    queuePrefix: values.QUEUE_PREFIX,
    logLevel: values.LOG_LEVEL,
    nodeEnv: values.NODE_ENV,
    shutdownGraceMs: values.SHUTDOWN_GRACE_MS,
  };
}

/** Reads the API's configuration; throws ConfigError naming every bad variable. */
export function readApiConfig(env: Environment): ApiConfig {
  const values = parseEnvironment(withCredentialPairCheck(apiVariables, env), env);
  return { ...commonConfig(values), port: values.PORT };
}

/** Reads a stage worker's configuration; throws ConfigError naming every bad variable. */
export function readWorkerConfig(env: Environment): WorkerConfig {
  const values = parseEnvironment(withCredentialPairCheck(workerVariables, env), env);
  return {
    ...commonConfig(values),
    healthPort: values.HEALTH_PORT,
    concurrency: values.WORKER_CONCURRENCY,
    modelsDir: values.MODELS_DIR,
    lockDurationMs: values.LOCK_DURATION_MS,
    stalledIntervalMs: values.STALLED_INTERVAL_MS,
    maxStalledCount: values.MAX_STALLED_COUNT,
    ortIntraOpThreads: values.ORT_INTRA_OP_THREADS,
    debugModelCallMinMs: values.DEBUG_MODEL_CALL_MIN_MS,
  };
}

/** The access key and the secret come as a pair: one without the other is a mistake, not a fallback. */
function withCredentialPairCheck<Spec extends typeof commonVariables>(spec: Spec, env: Environment): Spec {
  const hasKey = Boolean(env.S3_ACCESS_KEY_ID);
  const hasSecret = Boolean(env.S3_SECRET_ACCESS_KEY);
  if (hasKey === hasSecret) return spec;
  const missing = hasKey ? 'S3_SECRET_ACCESS_KEY' : 'S3_ACCESS_KEY_ID';
  const other = hasKey ? 'S3_ACCESS_KEY_ID' : 'S3_SECRET_ACCESS_KEY';
  return { ...spec, [missing]: { ...spec[missing], ...envVariable(`a value, because ${other} is set`, z.string()) } } as Spec;
}
