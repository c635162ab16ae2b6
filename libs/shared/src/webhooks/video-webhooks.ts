import type { Queue } from 'bullmq';
import { VIDEO_ID_PATTERN } from '../contracts/artifact-keys';
import type { VideoStore } from '../jobs/video-store';
import { VideoNotFound } from '../jobs/video-store-errors';
import { WebhookDeliveryNotFound } from '../api/api-errors';
import type { WebhookAttemptList, WebhookRetryAccepted } from '../api/http-schemas';
import type { WebhookAttemptLog } from './webhook-attempt-log';
import { webhookJobOptions } from './webhook-relay';

/**
 * GET /v1/videos/{id}/webhooks and POST …/webhooks/{deliveryId}/retry without the HTTP framework.
 * Another owner's video is answered like a missing one.
 */
export class VideoWebhooks {
  constructor(
    private readonly options: { store: VideoStore; attemptLog: WebhookAttemptLog; queue: Queue; maxAttempts: number },
  ) {}

  async attempts(owner: string, videoId: string): Promise<WebhookAttemptList> {
    await this.checkOwner(owner, videoId);
    const attempts = await this.options.attemptLog.attempts(videoId);
    return {
      data: attempts.map((attempt) => ({
        delivery_id: attempt.deliveryId,
        type: attempt.type,
        attempt: attempt.attempt,
        at: attempt.at,
        status_code: attempt.statusCode,
        latency_ms: attempt.latencyMs,
        outcome: attempt.outcome,
        error: attempt.error,
      })),
    };
  }

  /**
   * Queues the delivery again under the same id (so the same webhook-id), with a fresh set of
   * attempts; a delivery still waiting or being retried is left as it is. Forgets a 410 of the URL.
   */
  async retry(owner: string, videoId: string, deliveryId: string): Promise<WebhookRetryAccepted> {
    await this.checkOwner(owner, videoId);
    const { attemptLog, queue, maxAttempts } = this.options;
    const delivery = await attemptLog.delivery(videoId, deliveryId);
    if (delivery === undefined) throw new WebhookDeliveryNotFound(deliveryId);
    await attemptLog.clearGone(videoId, delivery.url);
    const existing = await queue.getJob(deliveryId);
    if (existing !== undefined) {
      const state = await existing.getState();
      if (state !== 'completed' && state !== 'failed' && state !== 'unknown') return { delivery_id: deliveryId, status: 'queued' };
      await existing.remove();
    }
    await queue.add(delivery.type, delivery, webhookJobOptions(delivery, maxAttempts));
    return { delivery_id: deliveryId, status: 'queued' };
  }

  private async checkOwner(owner: string, videoId: string): Promise<void> {
    if (!VIDEO_ID_PATTERN.test(videoId)) throw new VideoNotFound(videoId);
    const record = await this.options.store.get(videoId);
    if (record === undefined || record.owner !== owner) throw new VideoNotFound(videoId);
  }
}
