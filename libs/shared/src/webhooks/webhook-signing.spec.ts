import { randomBytes } from 'node:crypto';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { isWebhookSecret, signWebhook } from './webhook-signing';
import { webhookRetryDelayMs } from './webhook-backoff';

const newSecret = (): string => `whsec_${randomBytes(24).toString('base64')}`;
const body = JSON.stringify({ type: 'video.queued', timestamp: '2026-01-01T00:00:00.000Z', data: { video_id: 'v1', sequence: 1 } });

describe('signWebhook (verified with the standardwebhooks library, as a receiver would)', () => {
  it('verifies with the secret, and fails for a tampered body, an old timestamp or a wrong secret', () => {
    const secret = newSecret();
    const headers = signWebhook({ id: 'v1.1', timestamp: new Date(), body, secrets: [secret] });
    expect(new Webhook(secret).verify(body, { ...headers })).toEqual(JSON.parse(body));
    expect(() => new Webhook(secret).verify(body.replace('queued', 'started'), { ...headers })).toThrow(WebhookVerificationError);
    expect(() => new Webhook(secret).verify(body, { ...headers, 'webhook-id': 'v1.2' })).toThrow(WebhookVerificationError);
    expect(() => new Webhook(newSecret()).verify(body, { ...headers })).toThrow(WebhookVerificationError);
    const old = signWebhook({ id: 'v1.1', timestamp: new Date(Date.now() - 10 * 60_000), body, secrets: [secret] });
    expect(() => new Webhook(secret).verify(body, { ...old })).toThrow(WebhookVerificationError);
    // the timestamp is signed too: a fresh header on an old signature fails
    expect(() => new Webhook(secret).verify(body, { ...old, 'webhook-timestamp': headers['webhook-timestamp'] })).toThrow(WebhookVerificationError);
  });

  it('signs with both secrets during a rotation, so either verifies', () => {
    const [fresh, previous] = [newSecret(), newSecret()];
    const headers = signWebhook({ id: 'v1.1', timestamp: new Date(), body, secrets: [fresh, previous] });
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    expect(new Webhook(fresh).verify(body, { ...headers })).toBeTruthy();
    expect(new Webhook(previous).verify(body, { ...headers })).toBeTruthy();
    expect(() => new Webhook(newSecret()).verify(body, { ...headers })).toThrow(WebhookVerificationError);
  });

  it('knows a whsec_ secret', () => {
    expect(isWebhookSecret(newSecret())).toBe(true);
    expect(isWebhookSecret('whsec_')).toBe(false);
    expect(isWebhookSecret('secret')).toBe(false);
  });
});

describe('webhookRetryDelayMs', () => {
  const backoff = { baseMs: 10_000, maxMs: 6 * 3600_000 };
  it('grows from the base, stays within [½, 1) of its ceiling, and is capped', () => {
    expect(webhookRetryDelayMs(1, backoff, () => 0)).toBe(5_000);
    expect(webhookRetryDelayMs(1, backoff, () => 0.999_999)).toBeLessThan(10_000);
    expect(webhookRetryDelayMs(2, backoff, () => 0)).toBe(20_000);
    expect(webhookRetryDelayMs(30, backoff, () => 0.999_999)).toBeLessThan(backoff.maxMs);
    expect(webhookRetryDelayMs(30, backoff, () => 0)).toBe(backoff.maxMs / 2);
  });
  it('spreads the default 11 retries over about a day', () => {
    const expected = Array.from({ length: 11 }, (_, index) => webhookRetryDelayMs(index + 1, backoff, () => 0.5)).reduce((a, b) => a + b, 0);
    expect(expected / 3600_000).toBeGreaterThan(18);
    expect(expected / 3600_000).toBeLessThan(36);
  });
});
