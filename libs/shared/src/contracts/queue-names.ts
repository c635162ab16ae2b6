/**
 * DESIGN.md §3 (contract): the BullMQ queue names. The four stage queues run in flow order
 * keyframe → interp → decode → sr; `webhooks` carries webhook deliveries.
 */
export const QUEUE_NAMES = ['keyframe', 'interp', 'decode', 'sr', 'webhooks'] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];

/** The queues a stage worker consumes (every queue except `webhooks`). */
export const STAGE_NAMES = ['keyframe', 'interp', 'decode', 'sr'] as const satisfies readonly QueueName[];
export type StageName = (typeof STAGE_NAMES)[number];

export function isQueueName(value: string): value is QueueName {
  return (QUEUE_NAMES as readonly string[]).includes(value);
}
