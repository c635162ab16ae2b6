import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { type ApiKeyEntry, mergeApiKeyEntries, parseApiKeysFile, parseApiKeysVariable } from '../api/api-keys';
import { DEFAULT_QUEUE_PREFIX, isValidQueuePrefix } from '../contracts/redis-prefix';
import { PRIORITY_LIMITS } from '../jobs/stage-job';
import type { RetentionPeriods } from '../jobs/video-retention';
import type { WebhookBackoff } from '../webhooks/webhook-backoff';
import { parseWebhookSecretsVariable, type WebhookKeySettings } from '../webhooks/webhook-settings';
import type { WebhookUrlPolicy } from '../webhooks/webhook-url-guard';
import { ConfigError, type ConfigIssue } from './config-error';
import { type Environment, type EnvValues, envVariable, parseEnvironment } from './env-schema';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const NODE_ENVS = ['production', 'development', 'test'] as const;
export type NodeEnv = (typeof NODE_ENVS)[number];
/** onnxruntime execution providers a worker can be given (libs/diffusion's ExecutionProvider). */
export const ORT_EXECUTION_PROVIDERS = ['cpu', 'cuda'] as const;
export type OrtExecutionProvider = (typeof ORT_EXECUTION_PROVIDERS)[number];

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
  // Retention (issue 15): enforced by the sweeper every API and worker process runs, and by the bucket's lifecycle rules.
  RESULT_RETENTION_SECONDS: envVariable('a positive integer of seconds (results kept after a video ends)', positiveInt(7 * 86_400)),
  INTERMEDIATE_RETENTION_SECONDS: envVariable('a positive integer of seconds (intermediates kept after a video ends; at most RESULT_RETENTION_SECONDS)', positiveInt(86_400)),
  S3_LIFECYCLE_RULES: envVariable('true or false (set the retention lifecycle rules on the bucket at start)', bool(true)),
  SWEEP_INTERVAL_MS: envVariable('a positive integer of milliseconds (deadline and retention sweeps)', positiveInt(1_000)),
};

const MIB = 1024 * 1024;
const priorityBound = z.coerce.number().int().min(0).max(PRIORITY_LIMITS.max);
/** SigV4 presigned URLs live at most 7 days. */
const MAX_PRESIGN_EXPIRY_SECONDS = 7 * 24 * 3600;

const apiVariables = {
  ...commonVariables,
  PORT: envVariable('a TCP port (0-65535)', port(3000)),
  // API_KEYS and API_KEYS_FILE are parsed by readApiKeys (at least one of them, with detailed errors).
  API_KEYS: envVariable('comma-separated id:key pairs (development and tests)', z.string().optional(), { sensitive: true }),
  API_KEYS_FILE: envVariable('the path of a JSON file [{ "id", "sha256" }]', z.string().optional()),
  MODELS_DIR: envVariable('the model folder whose model_index.json requests are validated against', z.string().min(1)),
  RATE_LIMIT_PER_MINUTE: envVariable('a positive integer of POST /v1/videos per minute per key', positiveInt(60)),
  RATE_LIMIT_BURST: envVariable('a positive integer of requests a key may send at once', positiveInt(10)),
  BODY_LIMIT_BYTES: envVariable('a positive integer of bytes (JSON bodies)', positiveInt(MIB)),
  UPLOAD_LIMIT_BYTES: envVariable('a positive integer of bytes (an init image or video)', positiveInt(20 * MIB)),
  PRESIGN_EXPIRY_SECONDS: envVariable(
    `a positive integer of seconds, at most ${MAX_PRESIGN_EXPIRY_SECONDS}`,
    z.coerce.number().int().positive().max(MAX_PRESIGN_EXPIRY_SECONDS).default(3600),
  ),
  STAGE_ATTEMPTS: envVariable('a positive integer (tries per stage, the first included)', positiveInt(6)),
  STAGE_BACKOFF_MS: envVariable('a positive integer of milliseconds (first retry delay, doubling)', positiveInt(2000)),
  IDEMPOTENCY_TTL_SECONDS: envVariable('a positive integer of seconds', positiveInt(86_400)),
  // Webhooks (issue 6; docs/webhooks.md). WEBHOOK_SECRETS is parsed by readWebhookKeys, with the keys file's webhook fields.
  WEBHOOK_SECRETS: envVariable('comma-separated keyId=whsec_…[|whsec_…] (development)', z.string().optional(), { sensitive: true }),
  WEBHOOK_ALLOW_LOOPBACK: envVariable('true or false (loopback webhook URLs: development and tests only)', bool(false)),
  WEBHOOK_REQUIRE_HTTPS: envVariable('true or false', bool(true)),
  WEBHOOK_MAX_ATTEMPTS: envVariable('a positive integer (tries per delivery, the first included)', positiveInt(12)),
  WEBHOOK_BACKOFF_BASE_MS: envVariable('a positive integer of milliseconds (first retry delay, ×4 per retry)', positiveInt(10_000)),
  WEBHOOK_BACKOFF_MAX_MS: envVariable('a positive integer of milliseconds (longest retry delay)', positiveInt(6 * 3600_000)),
  WEBHOOK_TIMEOUT_MS: envVariable('a positive integer of milliseconds (one delivery attempt)', positiveInt(10_000)),
  WEBHOOK_CONCURRENCY: envVariable('a positive integer (deliveries in flight per API process)', positiveInt(10)),
  WEBHOOK_PROGRESS_INTERVAL_MS: envVariable('a non-negative integer of milliseconds (video.progress at most this often; 0: never)', z.coerce.number().int().min(0).default(10_000)),
  // Unset: no queue UI at /admin/queues.
  ADMIN_API_KEY: envVariable('a key of at least 16 characters for the queue UI at /admin/queues', z.string().min(16).optional(), { sensitive: true }),
  // Job policy (issue 15; docs/api.md). PRIORITY_MAX_BY_KEY is parsed by readPriorityLimits.
  PRIORITY_MAX: envVariable(`an integer from 0 to ${PRIORITY_LIMITS.max} (the highest priority a key may ask for)`, priorityBound.default(10)),
  PRIORITY_MAX_BY_KEY: envVariable('comma-separated keyId=max pairs (per API key overrides of PRIORITY_MAX)', z.string().optional()),
  MAX_DEADLINE_SECONDS: envVariable('a positive integer of seconds (every video ends by then; Cancel-After may only shorten it)', positiveInt(86_400)),
};

const optionalPositiveInt = z.coerce.number().int().positive().optional();

const workerVariables = {
  ...commonVariables,
  HEALTH_PORT: envVariable('a TCP port (0-65535)', port(8081)),
  WORKER_CONCURRENCY: envVariable('a positive integer', positiveInt(1)),
  MODELS_DIR: envVariable('the model folder (for example assets/models/magicvideo-shapes)', z.string().min(1)),
  // Unset: the stage's own lock duration (runStageWorker's definition), and a stalled check as often.
  LOCK_DURATION_MS: envVariable('a positive integer of milliseconds (BullMQ lockDuration)', optionalPositiveInt),
  STALLED_INTERVAL_MS: envVariable('a positive integer of milliseconds (BullMQ stalledInterval)', optionalPositiveInt),
  MAX_STALLED_COUNT: envVariable('a non-negative integer (stalls before a job fails)', z.coerce.number().int().min(0).default(2)),
  ORT_INTRA_OP_THREADS: envVariable('a positive integer (onnxruntime threads per model call)', optionalPositiveInt),
  // cuda: the GPU image (Dockerfile.gpu); a session that cannot get CUDA falls back to cpu with a warning.
  ORT_EXECUTION_PROVIDER: envVariable(`one of ${ORT_EXECUTION_PROVIDERS.join(', ')}`, z.enum(ORT_EXECUTION_PROVIDERS).default('cpu')),
  DEBUG_MODEL_CALL_MIN_MS: envVariable('a positive integer of milliseconds (tests only)', optionalPositiveInt),
  // Unset: the stage's own timeout (runStageWorker's definition).
  STAGE_TIMEOUT_MS: envVariable('a positive integer of milliseconds (one stage attempt; a hung one fails as StageTimeout)', optionalPositiveInt),
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
  retention: RetentionConfig;
}

/** Retention of ended videos (issue 15). */
export interface RetentionConfig extends RetentionPeriods {
  /** set the bucket's lifecycle rules at start */
  lifecycleRules: boolean;
  /** ms between the sweeper's passes (deadlines and retention) */
  sweepIntervalMs: number;
}

/** Priorities and deadlines of new videos (issue 15). */
export interface JobPolicyConfig {
  /** the highest priority a key may ask for, unless maxPriorityByKey names it */
  maxPriority: number;
  maxPriorityByKey: Record<string, number>;
  /** every video's deadline is at most this long after it was submitted */
  maxDeadlineSeconds: number;
}

export interface ApiConfig extends CommonConfig {
  port: number;
  /** From API_KEYS and API_KEYS_FILE together, hashed; never a key in clear. */
  apiKeys: ApiKeyEntry[];
  modelsDir: string;
  rateLimitPerMinute: number;
  rateLimitBurst: number;
  bodyLimitBytes: number;
  uploadLimitBytes: number;
  presignExpirySeconds: number;
  stageAttempts: number;
  stageBackoffMs: number;
  idempotencyTtlSeconds: number;
  webhooks: WebhookConfig;
  /** The queue UI's key (ADMIN_API_KEY); undefined: the UI is not served. */
  adminApiKey: string | undefined;
  jobPolicy: JobPolicyConfig;
}

/** Webhook delivery (issue 6). */
export interface WebhookConfig {
  /** signing secrets, default URL and filter by API key id (keys file and WEBHOOK_SECRETS) */
  keys: Record<string, WebhookKeySettings>;
  policy: WebhookUrlPolicy;
  maxAttempts: number;
  backoff: WebhookBackoff;
  timeoutMs: number;
  concurrency: number;
  /** video.progress at most this often per video; 0: never */
  progressIntervalMs: number;
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
  /** onnxruntime's execution provider for the stage's models (ORT_EXECUTION_PROVIDER). */
  ortExecutionProvider: OrtExecutionProvider;
  /**
   * Test knob: every model call lasts at least this long, its session thread sleeping the rest,
   * so a test can make one call outlast the lock. Never set in production.
   */
  debugModelCallMinMs: number | undefined;
  /** One stage attempt's limit; undefined means the stage's own default. */
  stageTimeoutMs: number | undefined;
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
    retention: {
      resultSeconds: values.RESULT_RETENTION_SECONDS,
      // intermediates never outlive the results they were made for
      intermediateSeconds: Math.min(values.INTERMEDIATE_RETENTION_SECONDS, values.RESULT_RETENTION_SECONDS),
      lifecycleRules: values.S3_LIFECYCLE_RULES,
      sweepIntervalMs: values.SWEEP_INTERVAL_MS,
    },
  };
}

/** Reads the API's configuration; throws ConfigError naming every bad variable. */
export function readApiConfig(env: Environment): ApiConfig {
  const apiKeys = readApiKeys(env);
  let values: EnvValues<typeof apiVariables>;
  try {
    values = parseEnvironment(withCredentialPairCheck(apiVariables, env), env);
  } catch (error) {
    // One error naming every bad variable, the API keys' included.
    if (error instanceof ConfigError && 'issues' in apiKeys) throw new ConfigError([...error.issues, ...apiKeys.issues]);
    throw error;
  }
  if ('issues' in apiKeys) throw new ConfigError(apiKeys.issues);
  const webhookKeys = readWebhookKeys(env, apiKeys.entries);
  return {
    ...commonConfig(values),
    port: values.PORT,
    apiKeys: apiKeys.entries,
    modelsDir: values.MODELS_DIR,
    rateLimitPerMinute: values.RATE_LIMIT_PER_MINUTE,
    rateLimitBurst: values.RATE_LIMIT_BURST,
    bodyLimitBytes: values.BODY_LIMIT_BYTES,
    uploadLimitBytes: values.UPLOAD_LIMIT_BYTES,
    presignExpirySeconds: values.PRESIGN_EXPIRY_SECONDS,
    stageAttempts: values.STAGE_ATTEMPTS,
    stageBackoffMs: values.STAGE_BACKOFF_MS,
    idempotencyTtlSeconds: values.IDEMPOTENCY_TTL_SECONDS,
    webhooks: {
      keys: webhookKeys,
      policy: { allowLoopback: values.WEBHOOK_ALLOW_LOOPBACK, requireHttps: values.WEBHOOK_REQUIRE_HTTPS },
      maxAttempts: values.WEBHOOK_MAX_ATTEMPTS,
      backoff: { baseMs: values.WEBHOOK_BACKOFF_BASE_MS, maxMs: values.WEBHOOK_BACKOFF_MAX_MS },
      timeoutMs: values.WEBHOOK_TIMEOUT_MS,
      concurrency: values.WEBHOOK_CONCURRENCY,
      progressIntervalMs: values.WEBHOOK_PROGRESS_INTERVAL_MS,
    },
    adminApiKey: values.ADMIN_API_KEY,
    jobPolicy: {
      maxPriority: values.PRIORITY_MAX,
      maxPriorityByKey: readPriorityLimits(values.PRIORITY_MAX_BY_KEY, apiKeys.entries),
      maxDeadlineSeconds: values.MAX_DEADLINE_SECONDS,
    },
  };
}

/** PRIORITY_MAX_BY_KEY: `keyId=max,…`, each id a configured key, each max 0..PRIORITY_LIMITS.max. */
function readPriorityLimits(variable: string | undefined, entries: readonly ApiKeyEntry[]): Record<string, number> {
  const limits: Record<string, number> = {};
  if (variable === undefined || variable.trim() === '') return limits;
  for (const pair of variable.split(',')) {
    const [keyId = '', max = ''] = pair.trim().split('=');
    const value = Number(max);
    const known = entries.some((entry) => entry.id === keyId);
    if (!known || !/^\d+$/.test(max) || value > PRIORITY_LIMITS.max) {
      const expected = `comma-separated keyId=max pairs, each a configured key id and a max from 0 to ${PRIORITY_LIMITS.max}`;
      throw new ConfigError([{ variable: 'PRIORITY_MAX_BY_KEY', expected, received: pair.trim() }]);
    }
    limits[keyId] = value;
  }
  return limits;
}

/**
 * API_KEYS and API_KEYS_FILE, merged (ids unique across both). At least one is required: an API
 * without keys would either refuse everyone or, worse, let everyone in. The file is read
 * synchronously because configuration is read once, at start, before serving.
 */
function readApiKeys(env: Environment): { entries: ApiKeyEntry[] } | { issues: ConfigIssue[] } {
  const variable = env.API_KEYS || undefined;
  const file = env.API_KEYS_FILE || undefined;
  if (variable === undefined && file === undefined) {
    const expected = 'API_KEYS or API_KEYS_FILE to be set (at least one)';
    return { issues: [{ variable: 'API_KEYS', expected, received: undefined }] };
  }
  const issues: ConfigIssue[] = [];
  const sources: ApiKeyEntry[][] = [];
  if (variable !== undefined) {
    try {
      sources.push(parseApiKeysVariable(variable));
    } catch (error) {
      const expected = `comma-separated id:key pairs (${(error as Error).message})`;
      issues.push({ variable: 'API_KEYS', expected, received: `<hidden, ${variable.length} characters>` });
    }
  }
  if (file !== undefined) {
    try {
      sources.push(parseApiKeysFile(readFileSync(file, 'utf8')));
    } catch (error) {
      const expected = `a readable JSON file [{ "id", "sha256" }] (${(error as Error).message})`;
      issues.push({ variable: 'API_KEYS_FILE', expected, received: file });
    }
  }
  if (issues.length > 0) return { issues };
  try {
    return { entries: mergeApiKeyEntries(...sources) };
  } catch (error) {
    const expected = `ids and keys unique across API_KEYS and API_KEYS_FILE (${(error as Error).message})`;
    return { issues: [{ variable: 'API_KEYS_FILE', expected, received: file }] };
  }
}

/**
 * Webhook settings by API key id: the keys file's webhook fields, plus WEBHOOK_SECRETS' secrets
 * for keys the file gives none (development). A secret for a key that does not exist is a mistake.
 */
function readWebhookKeys(env: Environment, entries: ApiKeyEntry[]): Record<string, WebhookKeySettings> {
  const keys: Record<string, WebhookKeySettings> = {};
  for (const entry of entries) if (entry.webhook !== undefined) keys[entry.id] = entry.webhook;
  const variable = env.WEBHOOK_SECRETS || undefined;
  if (variable === undefined) return keys;
  let fromVariable: Record<string, WebhookKeySettings>;
  try {
    fromVariable = parseWebhookSecretsVariable(variable);
  } catch (error) {
    const expected = `comma-separated keyId=whsec_…[|whsec_…] (${(error as Error).message})`;
    throw new ConfigError([{ variable: 'WEBHOOK_SECRETS', expected, received: `<hidden, ${variable.length} characters>` }]);
  }
  for (const [keyId, settings] of Object.entries(fromVariable)) {
    if (!entries.some((entry) => entry.id === keyId)) {
      throw new ConfigError([{ variable: 'WEBHOOK_SECRETS', expected: `secrets for configured API key ids (${keyId} is none)`, received: '<hidden>' }]);
    }
    keys[keyId] = { ...settings, ...keys[keyId] };
  }
  return keys;
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
    ortExecutionProvider: values.ORT_EXECUTION_PROVIDER,
    debugModelCallMinMs: values.DEBUG_MODEL_CALL_MIN_MS,
    stageTimeoutMs: values.STAGE_TIMEOUT_MS,
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
