import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { WebhookAttemptLog } from './webhook-attempt-log';
import { parseOutboxEntry, type WebhookDelivery, webhookOutboxKey } from './webhook-outbox-entry';

/**
 * Moves webhook deliveries from the outbox stream to the `webhooks` queue. A consumer group
 * (XREADGROUP, then XACK + XDEL once the job is added) lets several API processes share the
 * outbox; entries a dead consumer read but never acknowledged are claimed with XAUTOCLAIM. The
 * job id is the delivery id, so an entry queued twice (a relay that crashed between adding the
 * job and acknowledging the entry) is still one job: BullMQ ignores an add with an existing id.
 */

export const WEBHOOK_RELAY_GROUP = 'webhook-relay';

export interface WebhookRelayOptions {
  /** a connection the relay may block (XREADGROUP BLOCK); it is closed by `close()` */
  blockingRedis: Redis;
  /** a commands connection, for XACK, XDEL and XAUTOCLAIM */
  redis: Redis;
  prefix: string;
  queue: Queue;
  attemptLog: WebhookAttemptLog;
  /** tries per delivery, the first included */
  attempts: number;
  /** this process's consumer name in the group (unique per process) */
  consumer: string;
  logger: Logger;
  /** an entry read by a consumer that has not acknowledged it for this long is taken over (default 30 s) */
  claimIdleMs?: number;
  /** how long one XREADGROUP waits (default 2 s) */
  blockMs?: number;
}

const BATCH = 100;
const DEFAULT_CLAIM_IDLE_MS = 30_000;
const DEFAULT_BLOCK_MS = 2_000;
const ERROR_PAUSE_MS = 1_000;

/** How long finished `webhooks` jobs are kept: while kept, their id still blocks a duplicate add. */
export const WEBHOOK_JOB_RETENTION = { completedSeconds: 7 * 24 * 3600, failedSeconds: 30 * 24 * 3600 };

export function webhookJobOptions(delivery: WebhookDelivery, attempts: number) {
  return {
    jobId: delivery.deliveryId,
    attempts,
    backoff: { type: 'webhook' },
    removeOnComplete: { age: WEBHOOK_JOB_RETENTION.completedSeconds },
    removeOnFail: { age: WEBHOOK_JOB_RETENTION.failedSeconds },
  };
}

export class WebhookRelay {
  private readonly key: string;
  private stopped = false;
  private running: Promise<void> | undefined;
  private lastClaimAt = 0;

  constructor(private readonly options: WebhookRelayOptions) {
    this.key = webhookOutboxKey(options.prefix);
  }

  /** Creates the group (at the stream's start, so nothing appended before the first API start is missed) and starts relaying. */
  async start(): Promise<void> {
    try {
      // On the blocking connection, which queues the command until Redis answers: at process start
      // the commands connection may not be ready yet, and it fails a command at once (no offline queue).
      await this.options.blockingRedis.xgroup('CREATE', this.key, WEBHOOK_RELAY_GROUP, '0', 'MKSTREAM');
    } catch (error) {
      if (!String((error as Error).message).includes('BUSYGROUP')) throw error;
    }
    this.running = this.loop();
  }

  async close(): Promise<void> {
    this.stopped = true;
    this.options.blockingRedis.disconnect();
    await this.running;
  }

  private async loop(): Promise<void> {
    // This consumer's own unacknowledged entries first (a restart under the same name), then new ones.
    let readFrom = '0';
    while (!this.stopped) {
      try {
        await this.claimAbandoned();
        const entries = await this.read(readFrom);
        if (readFrom === '0' && entries.length === 0) readFrom = '>';
        for (const [id, fields] of entries) await this.relay(id, fields);
      } catch (error) {
        if (this.stopped) return;
        this.options.logger.warn({ err: error }, 'webhook relay: retrying after an error');
        await new Promise((resolve) => setTimeout(resolve, ERROR_PAUSE_MS));
      }
    }
  }

  private async read(from: string): Promise<[string, string[] | null][]> {
    const reply: unknown = await this.options.blockingRedis.call(
      'XREADGROUP',
      'GROUP',
      WEBHOOK_RELAY_GROUP,
      this.options.consumer,
      'COUNT',
      BATCH,
      ...(from === '>' ? ['BLOCK', this.options.blockMs ?? DEFAULT_BLOCK_MS] : []),
      'STREAMS',
      this.key,
      from,
    );
    return entriesOf(reply);
  }

  /** Entries another consumer read and never acknowledged (it died) become this one's. */
  private async claimAbandoned(): Promise<void> {
    const idle = this.options.claimIdleMs ?? DEFAULT_CLAIM_IDLE_MS;
    if (Date.now() - this.lastClaimAt < idle / 2) return;
    this.lastClaimAt = Date.now();
    let cursor = '0-0';
    do {
      const reply = (await this.options.redis.call('XAUTOCLAIM', this.key, WEBHOOK_RELAY_GROUP, this.options.consumer, idle, cursor, 'COUNT', BATCH)) as [
        string,
        unknown,
      ];
      cursor = reply[0];
      for (const [id, fields] of entriesOf([[this.key, reply[1]]])) await this.relay(id, fields);
    } while (cursor !== '0-0' && !this.stopped);
  }

  private async relay(id: string, fields: string[] | null): Promise<void> {
    const delivery = fields === null ? undefined : parseOutboxEntry(fields);
    if (delivery === undefined) {
      this.options.logger.error({ entry: id }, 'webhook relay: dropping a malformed outbox entry');
    } else {
      await this.options.attemptLog.rememberDelivery(delivery);
      await this.options.queue.add(delivery.type, delivery, webhookJobOptions(delivery, this.options.attempts));
    }
    await this.options.redis.multi().xack(this.key, WEBHOOK_RELAY_GROUP, id).xdel(this.key, id).exec();
  }
}

/** Stream entries of an XREADGROUP reply for one stream (RESP2 `[[key, entries]]`); deleted entries have null fields. */
function entriesOf(reply: unknown): [string, string[] | null][] {
  if (!Array.isArray(reply) || reply.length === 0) return [];
  const first: unknown = reply[0];
  const entries: unknown = Array.isArray(first) ? (first as unknown[])[1] : reply[1];
  return Array.isArray(entries) ? (entries as [string, string[] | null][]) : [];
}
