import { randomBytes } from 'node:crypto';
import { type DistributedStack, startDistributedStack, startWebhookReceiver, type WebhookReceiver } from '@magicvideo/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Issue 6's first "Done when" with nothing driven by hand: the API and the four stage workers as
 * separate processes on the tiny models run a real video, and a real receiver on loopback
 * verifies every delivery with standardwebhooks and sees each event exactly once by webhook-id,
 * in sequence order, ending with a video.succeeded whose presigned URL serves the MP4.
 */

const MODELS_DIR = 'assets/models/magicvideo-shapes';
const FAST = { num_inference_steps: 2, interp_num_inference_steps: 1, sr_num_inference_steps: 1 };
const secret = `whsec_${randomBytes(32).toString('base64')}`;

describe('webhooks of a real video (API and four workers as processes)', () => {
  let stack: DistributedStack;
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    receiver = await startWebhookReceiver(secret);
    stack = await startDistributedStack({
      modelsDir: MODELS_DIR,
      env: {
        ORT_INTRA_OP_THREADS: '1',
        LOG_LEVEL: 'warn',
        WEBHOOK_SECRETS: `dev=${secret}`,
        // one delivery at a time, so they arrive in the order they were queued
        WEBHOOK_CONCURRENCY: '1',
        WEBHOOK_PROGRESS_INTERVAL_MS: '1',
      },
    });
  }, 300_000);

  afterAll(async () => {
    await stack?.stop();
    await receiver?.stop();
  }, 60_000);

  it('delivers each event of a successful video once, verified, in sequence order', async () => {
    const submitted = await fetch(`${stack.apiUrl}/v1/videos`, {
      method: 'POST',
      headers: { Authorization: stack.authorization, 'Content-Type': 'application/json' },
      body: JSON.stringify({ prompt: 'a red circle moving right', seed: 5, ...FAST, webhook_url: receiver.url }),
    });
    expect(submitted.status).toBe(202);
    const { id } = (await submitted.json()) as { id: string };

    const deadline = Date.now() + 240_000;
    while (!receiver.accepted().some((entry) => entry.verified?.data.video_id === id && entry.verified.type.match(/^video\.(succeeded|failed|cancelled)$/))) {
      if (Date.now() > deadline) throw new Error(`no final event for ${id}: ${JSON.stringify(receiver.received.map((entry) => entry.verified?.type))}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const mine = receiver.received.filter((entry) => entry.id.startsWith(`${id}.`));
    expect(mine.every((entry) => entry.verified !== undefined && entry.status === 204)).toBe(true);
    expect(new Set(mine.map((entry) => entry.id)).size).toBe(mine.length);
    const sequences = mine.map((entry) => entry.verified?.data.sequence ?? 0);
    expect(sequences).toEqual([...sequences].sort((a, b) => a - b));
    expect(mine.map((entry) => entry.id)).toEqual(sequences.map((sequence) => `${id}.${sequence}`));

    const types = mine.map((entry) => entry.verified?.type);
    expect(types[0]).toBe('video.queued');
    expect(types[1]).toBe('video.started');
    expect(types.at(-1)).toBe('video.succeeded');
    const completed = mine.filter((entry) => entry.verified?.type === 'video.stage.completed').map((entry) => entry.verified?.data.stage);
    expect(completed).toEqual(['keyframe', 'interp', 'decode', 'sr']);
    expect(types).toContain('video.progress');

    const result = mine.at(-1)?.verified?.data as unknown as { videos: { format: string; url: string }[] };
    expect(result.videos.map((video) => video.format)).toEqual(['mp4']);
    const mp4 = new Uint8Array(await (await fetch(result.videos[0]?.url ?? '')).arrayBuffer());
    expect(Buffer.from(mp4.subarray(4, 8)).toString('latin1')).toBe('ftyp');

    const attempts = await fetch(`${stack.apiUrl}/v1/videos/${id}/webhooks`, { headers: { Authorization: stack.authorization } });
    const { data } = (await attempts.json()) as { data: { delivery_id: string; outcome: string }[] };
    expect(data.map((attempt) => [attempt.delivery_id, attempt.outcome])).toEqual(mine.map((entry) => [entry.id, 'success']));
  }, 300_000);
});
