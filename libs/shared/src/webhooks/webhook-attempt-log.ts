import type { Redis } from 'ioredis';
import { z } from 'zod';
import { webhookEventTypeSchema } from './webhook-events';
import { type WebhookDelivery, webhookDeliverySchema } from './webhook-outbox-entry';

/**
 * Every delivery attempt of a video's webhooks, in Redis (issue 6: readable at
 * GET /v1/videos/{id}/webhooks), plus each delivery's job data so POST …/retry can queue it
 * again with the same webhook-id. Kept for `ttlSeconds` after the last write.
 */

export const webhookAttemptSchema = z.strictObject({
  deliveryId: z.string(),
  type: webhookEventTypeSchema,
  /** 1 for the first attempt of the delivery; counts on across manual retries */
  attempt: z.int().min(1),
  at: z.iso.datetime(),
  /** the receiver's HTTP status; null when no answer came (timeout, refused connection, URL refused) */
  statusCode: z.int().nullable(),
  latencyMs: z.number().min(0),
  /** success | retry | failed | gone */
  outcome: z.enum(['success', 'retry', 'failed', 'gone']),
  error: z.string().nullable(),
});
export type WebhookAttempt = z.infer<typeof webhookAttemptSchema>;

/** attempts kept per video (oldest dropped first) */
const MAX_ATTEMPTS_KEPT = 1000;
const DEFAULT_TTL_SECONDS = 30 * 24 * 3600;

export class WebhookAttemptLog {
  private readonly ttlSeconds: number;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    ttlSeconds?: number,
  ) {
    this.ttlSeconds = ttlSeconds ?? DEFAULT_TTL_SECONDS;
  }

  /** Remembers a delivery (the relay calls this before queueing it). */
  async rememberDelivery(delivery: WebhookDelivery): Promise<void> {
    const key = this.deliveriesKey(delivery.videoId);
    await this.redis.multi().hset(key, delivery.deliveryId, JSON.stringify(delivery)).expire(key, this.ttlSeconds).exec();
  }

  async delivery(videoId: string, deliveryId: string): Promise<WebhookDelivery | undefined> {
    const raw = await this.redis.hget(this.deliveriesKey(videoId), deliveryId);
    return raw === null ? undefined : webhookDeliverySchema.parse(JSON.parse(raw));
  }

  /** The next attempt's number for a delivery (1, 2, …, counting on across manual retries). */
  async nextAttempt(videoId: string, deliveryId: string): Promise<number> {
    const key = this.countsKey(videoId);
    const replies = await this.redis.multi().hincrby(key, deliveryId, 1).expire(key, this.ttlSeconds).exec();
    const attempt = Number(replies?.[0]?.[1]);
    if (!Number.isInteger(attempt)) throw new Error(`could not count the attempts of webhook delivery ${deliveryId}`);
    return attempt;
  }

  async record(videoId: string, attempt: WebhookAttempt): Promise<void> {
    const key = this.attemptsKey(videoId);
    await this.redis
      .multi()
      .rpush(key, JSON.stringify(webhookAttemptSchema.parse(attempt)))
      .ltrim(key, -MAX_ATTEMPTS_KEPT, -1)
      .expire(key, this.ttlSeconds)
      .exec();
  }

  /** A receiver answered 410 Gone for this video's URL: nothing more goes there. */
  async markGone(videoId: string, url: string): Promise<void> {
    const key = this.goneKey(videoId);
    await this.redis.multi().sadd(key, url).expire(key, this.ttlSeconds).exec();
  }

  async isGone(videoId: string, url: string): Promise<boolean> {
    return (await this.redis.sismember(this.goneKey(videoId), url)) === 1;
  }

  /** Forgets a 410 (a manual retry is the owner saying the receiver is back). */
  async clearGone(videoId: string, url: string): Promise<void> {
    await this.redis.srem(this.goneKey(videoId), url);
  }

  /** The video's attempts, oldest first. */
  async attempts(videoId: string): Promise<WebhookAttempt[]> {
    const raws = await this.redis.lrange(this.attemptsKey(videoId), 0, -1);
    return raws.map((raw) => webhookAttemptSchema.parse(JSON.parse(raw)));
  }

  /** The video's deliveries by id. */
  async deliveries(videoId: string): Promise<WebhookDelivery[]> {
    const all = await this.redis.hvals(this.deliveriesKey(videoId));
    return all.map((raw) => webhookDeliverySchema.parse(JSON.parse(raw))).sort((a, b) => a.sequence - b.sequence);
  }

  private attemptsKey(videoId: string): string {
    return `${this.prefix}:video:${videoId}:webhook-attempts`;
  }

  private deliveriesKey(videoId: string): string {
    return `${this.prefix}:video:${videoId}:webhook-deliveries`;
  }

  private goneKey(videoId: string): string {
    return `${this.prefix}:video:${videoId}:webhook-gone`;
  }

  private countsKey(videoId: string): string {
    return `${this.prefix}:video:${videoId}:webhook-attempt-counts`;
  }
}
