import { z } from 'zod';
import { videoEventSchema } from '../jobs/video-events';
import { webhookDeliveryId, webhookEventTypeSchema } from './webhook-events';

/**
 * The webhook outbox (issue 6): a Redis stream that VideoStore's scripts append to in the same
 * step as the event itself, and the relay turns into `webhooks` jobs. One entry is one delivery.
 */

export function webhookOutboxKey(prefix: string): string {
  return `${prefix}:webhook-outbox`;
}

/** A `webhooks` job's data: one event for one URL. The job id is `deliveryId`. */
export const webhookDeliverySchema = z.strictObject({
  deliveryId: z.string().min(1),
  videoId: z.string().min(1),
  owner: z.string(),
  url: z.string().min(1),
  type: webhookEventTypeSchema,
  sequence: z.int().min(1),
  at: z.iso.datetime(),
  event: videoEventSchema,
});
export type WebhookDelivery = z.infer<typeof webhookDeliverySchema>;

/** An outbox stream entry's fields (`video type url owner e`) as a delivery; undefined when malformed. */
export function parseOutboxEntry(fields: readonly string[]): WebhookDelivery | undefined {
  const value = (name: string): string | undefined => {
    for (let index = 0; index + 1 < fields.length; index += 2) if (fields[index] === name) return fields[index + 1];
    return undefined;
  };
  const videoId = value('video');
  const raw = value('e');
  if (videoId === undefined || raw === undefined) return undefined;
  let entry: { sequence?: unknown; at?: unknown; event?: unknown };
  try {
    entry = JSON.parse(raw) as typeof entry;
  } catch {
    // A malformed entry is reported by the caller (undefined), which drops it with a log line.
    return undefined;
  }
  const parsed = webhookDeliverySchema.safeParse({
    deliveryId: typeof entry.sequence === 'number' ? webhookDeliveryId(videoId, entry.sequence) : '',
    videoId,
    owner: value('owner') ?? '',
    url: value('url'),
    type: value('type'),
    sequence: entry.sequence,
    at: entry.at,
    event: entry.event,
  });
  return parsed.success ? parsed.data : undefined;
}
