import { randomBytes } from 'node:crypto';
import { stageCompleted, stageStarted, type VideoStore } from '@magicvideo/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWebhookReceiver, type WebhookReceiver } from '@magicvideo/shared/testing';
import { type ApiHarness, type ErrorBody, startApi } from './api-harness';

/**
 * Webhooks over HTTP (issue 6) with the API as its own process: the SSRF guard at submit, and
 * deliveries to a real receiver on loopback that verifies each with standardwebhooks, read back
 * at GET /v1/videos/{id}/webhooks and redelivered by POST …/retry. Videos are driven through the
 * job store as the stage workers would.
 */

const secret = `whsec_${randomBytes(24).toString('base64')}`;
const FAST = { num_inference_steps: 2, interpolate: false, super_resolution: false };

async function runToSuccess(store: VideoStore, videoId: string): Promise<void> {
  const record = await store.get(videoId);
  for (const stage of record?.stages ?? []) {
    await store.update(videoId, (current) => stageStarted(current, stage, 1, new Date()));
    await store.update(videoId, (current) => stageCompleted(current, stage, {}, new Date()));
  }
}

async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('webhook URLs at submit, loopback switch off', () => {
  let api: ApiHarness;
  beforeAll(async () => {
    api = await startApi({ WEBHOOK_SECRETS: `alice=${secret}`, WEBHOOK_REQUIRE_HTTPS: 'false' });
  }, 90_000);
  afterAll(async () => api?.stop());

  it.each([
    'http://127.0.0.1:8080/hook',
    'http://10.0.0.1/hook',
    'http://10.20.30.40/hook',
    'http://169.254.169.254/latest/meta-data/',
    'http://[::1]:8080/hook',
    'http://localhost:8080/hook',
    'http://[::ffff:10.0.0.1]/hook',
  ])('refuses %s with 400 WebhookUrlNotAllowed on webhook_url', async (url) => {
    const response = await api.submit('alice', { prompt: 'x', ...FAST, webhook_url: url });
    const body = (await response.json()) as ErrorBody;
    expect(response.status).toBe(400);
    expect(body.error).toMatchObject({ code: 'WebhookUrlNotAllowed', field: 'webhook_url' });
  });

  it('refuses a webhook for a key without a signing secret', async () => {
    const response = await api.submit('bob', { prompt: 'x', ...FAST, webhook_url: 'http://127.0.0.1:8080/hook' });
    expect(response.status).toBe(400);
    expect(((await response.json()) as ErrorBody).error.code).toBe('WebhookNotConfigured');
  });
});

describe('webhook deliveries over HTTP, loopback allowed', () => {
  let api: ApiHarness;
  let receiver: WebhookReceiver;
  beforeAll(async () => {
    receiver = await startWebhookReceiver(secret);
    api = await startApi({
      WEBHOOK_SECRETS: `alice=${secret}`,
      WEBHOOK_ALLOW_LOOPBACK: 'true',
      WEBHOOK_REQUIRE_HTTPS: 'false',
      WEBHOOK_MAX_ATTEMPTS: '2',
      WEBHOOK_BACKOFF_BASE_MS: '200',
      WEBHOOK_BACKOFF_MAX_MS: '400',
      WEBHOOK_CONCURRENCY: '1',
    });
  }, 90_000);
  afterAll(async () => {
    await api?.stop();
    await receiver?.stop();
  });

  it('delivers each event once, verified, in sequence order, and lists every attempt to the owner only', async () => {
    const submitted = await api.submit('alice', { prompt: 'x', ...FAST, webhook_url: receiver.url });
    expect(submitted.status).toBe(202);
    const { id } = (await submitted.json()) as { id: string };
    await runToSuccess(api.store, id);
    const mine = () => receiver.accepted().filter((entry) => entry.verified?.data.video_id === id);
    await waitFor('video.succeeded', async () => (mine().some((entry) => entry.verified?.type === 'video.succeeded') ? true : undefined));
    const stages = (await api.store.get(id))?.stages ?? [];
    expect(stages).toEqual(['keyframe', 'decode']);
    expect(mine().map((entry) => entry.verified?.type)).toEqual(['video.queued', 'video.started', 'video.stage.completed', 'video.stage.completed', 'video.succeeded']);
    expect(mine().map((entry) => entry.verified?.data.stage)).toEqual([undefined, 'keyframe', 'keyframe', 'decode', undefined]);
    expect(new Set(mine().map((entry) => entry.id)).size).toBe(5);
    expect(mine().map((entry) => entry.verified?.data.sequence)).toEqual([...mine().map((entry) => entry.verified?.data.sequence)].sort((a, b) => (a ?? 0) - (b ?? 0)));

    const listed = await api.call('alice', `/v1/videos/${id}/webhooks`);
    expect(listed.status).toBe(200);
    const { data } = (await listed.json()) as { data: { delivery_id: string; type: string; attempt: number; status_code: number; outcome: string }[] };
    expect(data.map((attempt) => [attempt.type, attempt.status_code, attempt.outcome, attempt.attempt])).toEqual(
      mine().map((entry) => [entry.verified?.type, 204, 'success', 1]),
    );
    expect((await api.call('bob', `/v1/videos/${id}/webhooks`)).status).toBe(404);
    expect((await api.call('bob', `/v1/videos/${id}/webhooks/${id}.1/retry`, { method: 'POST' })).status).toBe(404);
  });

  it('redelivers a failed delivery on POST …/retry with the same webhook-id', async () => {
    let failing = true;
    receiver.answer = () => (failing ? 503 : 200);
    const submitted = await api.submit('alice', { prompt: 'x', ...FAST, webhook_url: receiver.url, webhook_events: ['video.queued'] });
    const { id } = (await submitted.json()) as { id: string };
    const deliveryId = `${id}.1`;
    const failedAttempts = await waitFor('both attempts to fail', async () => {
      const { data } = (await (await api.call('alice', `/v1/videos/${id}/webhooks`)).json()) as { data: { outcome: string }[] };
      return data.length === 2 ? data : undefined;
    });
    expect(failedAttempts.map((attempt) => attempt.outcome)).toEqual(['retry', 'failed']);

    failing = false;
    const retried = await api.call('alice', `/v1/videos/${id}/webhooks/${deliveryId}/retry`, { method: 'POST' });
    expect(retried.status).toBe(202);
    expect(await retried.json()).toEqual({ delivery_id: deliveryId, status: 'queued' });
    await waitFor('the redelivery', async () => (receiver.accepted().some((entry) => entry.id === deliveryId) ? true : undefined));
    const tries = receiver.received.filter((entry) => entry.id === deliveryId);
    expect(tries.map((entry) => entry.status)).toEqual([503, 503, 200]);
    expect(tries.every((entry) => entry.verified?.type === 'video.queued')).toBe(true);
    const { data } = (await (await api.call('alice', `/v1/videos/${id}/webhooks`)).json()) as { data: { attempt: number; outcome: string }[] };
    expect(data.map((attempt) => [attempt.attempt, attempt.outcome])).toEqual([
      [1, 'retry'],
      [2, 'failed'],
      [3, 'success'],
    ]);
    const unknown = await api.call('alice', `/v1/videos/${id}/webhooks/${id}.99/retry`, { method: 'POST' });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as ErrorBody).error.code).toBe('WebhookDeliveryNotFound');
  });
});
