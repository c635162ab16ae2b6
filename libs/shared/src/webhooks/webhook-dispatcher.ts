import { type Job, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { VIDEO_FORMATS, type VideoFormat } from '../contracts/generation-request';
import type { ArtifactName } from '../contracts/artifact-keys';
import type { VideoStore } from '../jobs/video-store';
import type { ArtifactStore } from '../storage/artifact-store';
import type { WebhookAttemptLog } from './webhook-attempt-log';
import { type WebhookBackoff, webhookRetryDelayMs } from './webhook-backoff';
import { type WebhookResultVideo, webhookPayloadOf } from './webhook-events';
import { type WebhookDeliveryOutcome, webhookDeliveries, webhookDeliverySeconds } from './webhook-metrics';
import { type WebhookDelivery, webhookDeliverySchema } from './webhook-outbox-entry';
import { postWebhook } from './webhook-request';
import type { WebhookKeySettings } from './webhook-settings';
import { signWebhook } from './webhook-signing';
import { checkWebhookUrl, WebhookUrlNotAllowed, type WebhookUrlPolicy } from './webhook-url-guard';

/**
 * The `webhooks` queue's worker (in the API process): one job is one delivery, one attempt is
 * one POST. 2xx is success; 410 Gone stops for good; anything else (another status, a 3xx, a
 * timeout, a refused connection) is retried with webhookRetryDelayMs until the attempts run out.
 * The URL is checked again before every attempt (DNS may have changed since submit) and the
 * connection goes to the checked address. Every attempt is recorded and counted.
 */

export const WEBHOOK_QUEUE = 'webhooks';

export interface WebhookDispatcherOptions {
  /** a BullMQ worker connection (maxRetriesPerRequest: null) */
  connection: Redis;
  prefix: string;
  store: VideoStore;
  artifacts: ArtifactStore;
  attemptLog: WebhookAttemptLog;
  /** signing secrets (and defaults) by API key id */
  keys: Readonly<Record<string, WebhookKeySettings>>;
  policy: WebhookUrlPolicy;
  timeoutMs: number;
  backoff: WebhookBackoff;
  concurrency: number;
  presignExpirySeconds: number;
  logger: Logger;
  userAgent?: string;
}

const VIDEO_ARTIFACTS: Record<VideoFormat, ArtifactName> = { mp4: 'videoMp4', webm: 'videoWebm', gif: 'videoGif' };

/** A receiver's answer that means "try again later". */
class WebhookNotAccepted extends Error {
  readonly code = 'WebhookNotAccepted';
  constructor(readonly statusCode: number | null, message: string) {
    super(message);
    this.name = 'WebhookNotAccepted';
  }
}

export function startWebhookDispatcher(options: WebhookDispatcherOptions): Worker {
  const worker = new Worker(WEBHOOK_QUEUE, (job: Job) => deliver(job, options), {
    connection: options.connection,
    prefix: options.prefix,
    concurrency: options.concurrency,
    settings: { backoffStrategy: (attemptsMade: number) => webhookRetryDelayMs(attemptsMade, options.backoff) },
  });
  worker.on('error', (error) => options.logger.warn({ err: error }, 'webhook worker error'));
  return worker;
}

async function deliver(job: Job, options: WebhookDispatcherOptions): Promise<void> {
  const delivery = webhookDeliverySchema.parse(job.data);
  // after a 410 Gone the receiver gets nothing more, not even deliveries queued before it
  if (await options.attemptLog.isGone(delivery.videoId, delivery.url)) return;
  const attempt = await options.attemptLog.nextAttempt(delivery.videoId, delivery.deliveryId);
  const lastTry = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
  const started = performance.now();
  let statusCode: number | null = null;
  let outcome: WebhookDeliveryOutcome;
  let failure: Error | undefined;
  try {
    const secrets = options.keys[delivery.owner]?.secrets ?? [];
    if (secrets.length === 0) throw new UnrecoverableError(`API key ${delivery.owner} has no webhook secret`);
    const target = await checkWebhookUrl(delivery.url, options.policy);
    const body = JSON.stringify(webhookPayloadOf(delivery, await resultVideos(delivery, options)));
    const headers = signWebhook({ id: delivery.deliveryId, timestamp: new Date(), body, secrets });
    const response = await postWebhook(target, body, { ...headers }, { timeoutMs: options.timeoutMs, userAgent: options.userAgent ?? 'MagicVideo-Webhooks/1' });
    statusCode = response.statusCode;
    if (statusCode >= 200 && statusCode < 300) outcome = 'success';
    else if (statusCode === 410) throw new UnrecoverableError('the receiver answered 410 Gone: no more deliveries');
    else throw new WebhookNotAccepted(statusCode, `the receiver answered ${statusCode}`);
  } catch (error) {
    failure = error instanceof WebhookUrlNotAllowed ? new UnrecoverableError(error.message) : (error as Error);
    outcome = statusCode === 410 ? 'gone' : failure instanceof UnrecoverableError || lastTry ? 'failed' : 'retry';
  }
  const latencyMs = performance.now() - started;
  webhookDeliveries.inc({ outcome });
  webhookDeliverySeconds.observe({ outcome }, latencyMs / 1000);
  await options.attemptLog.record(delivery.videoId, {
    deliveryId: delivery.deliveryId,
    type: delivery.type,
    attempt,
    at: new Date().toISOString(),
    statusCode,
    latencyMs,
    outcome,
    error: failure?.message ?? null,
  });
  if (outcome === 'gone') {
    await options.attemptLog.markGone(delivery.videoId, delivery.url);
    await options.store.dropWebhook(delivery.videoId);
  }
  if (failure !== undefined) {
    options.logger.info({ delivery: delivery.deliveryId, attempt, statusCode, outcome, err: failure }, 'webhook delivery not accepted');
    throw failure;
  }
}

/** video.succeeded carries its results, presigned when the delivery is made (a retry a day later still gets live URLs). */
async function resultVideos(delivery: WebhookDelivery, options: WebhookDispatcherOptions): Promise<WebhookResultVideo[]> {
  if (delivery.type !== 'video.succeeded') return [];
  const record = await options.store.get(delivery.videoId);
  if (record === undefined) return [];
  const formats = record.request.formats.filter((format): format is VideoFormat => (VIDEO_FORMATS as readonly string[]).includes(format));
  return Promise.all(
    formats.map(async (format) => {
      const { url, expiresAt } = await options.artifacts.presign(delivery.videoId, VIDEO_ARTIFACTS[format], options.presignExpirySeconds);
      return { format, url, expires_at: expiresAt };
    }),
  );
}
