import { Webhook } from 'standardwebhooks';

/**
 * Standard Webhooks signing: `webhook-signature` holds one `v1,<base64 HMAC-SHA256 of
 * id.timestamp.body>` per secret, space-separated, so during a rotation a receiver holding either
 * the new or the old secret verifies the same delivery.
 */

const SECRET_PATTERN = /^whsec_[A-Za-z0-9+/]+={0,2}$/;

export function isWebhookSecret(value: string): boolean {
  return SECRET_PATTERN.test(value) && Buffer.from(value.slice('whsec_'.length), 'base64').length >= 16;
}

export interface WebhookSignatureHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

export function signWebhook(input: { id: string; timestamp: Date; body: string; secrets: readonly string[] }): WebhookSignatureHeaders {
  if (input.secrets.length === 0) throw new RangeError('a webhook needs at least one secret to be signed');
  const signatures = input.secrets.map((secret) => new Webhook(secret).sign(input.id, input.timestamp, input.body));
  return {
    'webhook-id': input.id,
    'webhook-timestamp': String(Math.floor(input.timestamp.getTime() / 1000)),
    'webhook-signature': signatures.join(' '),
  };
}
