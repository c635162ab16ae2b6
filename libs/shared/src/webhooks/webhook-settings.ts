import { z } from 'zod';
import { webhookEventTypeSchema, type WebhookEventType } from './webhook-events';
import { isWebhookSecret } from './webhook-signing';

/**
 * What an API key's webhooks need: its signing secrets (newest first; two during a rotation),
 * and optionally a default URL and event filter for videos whose request names none. From the
 * API keys file (`webhook_secrets`, `webhook_url`, `webhook_events`) or, for development,
 * WEBHOOK_SECRETS (`keyId=whsec_new|whsec_old,other=whsec_…`).
 */
export interface WebhookKeySettings {
  secrets: string[];
  url?: string;
  events?: WebhookEventType[];
}

export class InvalidWebhookSettings extends Error {
  readonly code = 'InvalidWebhookSettings';
  constructor(message: string) {
    super(message);
    this.name = 'InvalidWebhookSettings';
  }
}

export const webhookSecretSchema = z.string().refine(isWebhookSecret, 'must be whsec_ followed by base64 of at least 16 bytes');

/** The keys file's webhook fields of one key. */
export const webhookKeyFileFieldsSchema = {
  webhook_secrets: z.array(webhookSecretSchema).min(1).max(2).optional(),
  webhook_url: z.url({ protocol: /^https?$/ }).max(2048).optional(),
  webhook_events: z.array(webhookEventTypeSchema).min(1).optional(),
};

/** `keyId=whsec_a|whsec_b,other=whsec_c` → settings by key id. Never echoes a secret in an error. */
export function parseWebhookSecretsVariable(value: string): Record<string, WebhookKeySettings> {
  const settings: Record<string, WebhookKeySettings> = {};
  for (const [index, pair] of value.split(',').map((part) => part.trim()).entries()) {
    if (pair === '') continue;
    const equals = pair.indexOf('=');
    if (equals <= 0) throw new InvalidWebhookSettings(`pair ${index + 1} is not of the form keyId=whsec_…`);
    const keyId = pair.slice(0, equals);
    const secrets = pair.slice(equals + 1).split('|');
    if (secrets.length > 2 || secrets.some((secret) => !isWebhookSecret(secret))) {
      throw new InvalidWebhookSettings(`pair ${index + 1} (${keyId}): one or two whsec_ secrets separated by |`);
    }
    if (settings[keyId] !== undefined) throw new InvalidWebhookSettings(`key ${keyId} appears twice`);
    settings[keyId] = { secrets };
  }
  return settings;
}
