import { Counter, Histogram, register } from 'prom-client';

/**
 * Webhook delivery metrics on prom-client's default registry (served by the API's /metrics).
 * Found again when already registered: test runners evaluate this file more than once.
 */

export type WebhookDeliveryOutcome = 'success' | 'retry' | 'failed' | 'gone';

const DELIVERIES = 'magicvideo_webhook_deliveries_total';
const DURATION = 'magicvideo_webhook_delivery_seconds';

export const webhookDeliveries: Counter<'outcome'> =
  (register.getSingleMetric(DELIVERIES) as Counter<'outcome'> | undefined) ??
  new Counter({ name: DELIVERIES, help: 'webhook delivery attempts by outcome (success, retry, failed, gone)', labelNames: ['outcome'] });

export const webhookDeliverySeconds: Histogram<'outcome'> =
  (register.getSingleMetric(DURATION) as Histogram<'outcome'> | undefined) ??
  new Histogram({
    name: DURATION,
    help: 'time of one webhook delivery attempt, from the URL check to the receiver’s answer',
    labelNames: ['outcome'],
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  });
