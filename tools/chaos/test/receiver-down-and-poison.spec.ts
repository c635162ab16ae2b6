import { randomBytes } from 'node:crypto';
import { type DistributedStack, startDistributedStack, startWebhookReceiver, type WebhookReceiver } from '@magicvideo/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChaosClient, FAST, MODELS_DIR, writeChaosRecord } from '../chaos-client';

/**
 * Two faults of the outside world on one stack (issue 9): a webhook receiver that is down for a
 * while (every event arrives once it is back, each once by webhook-id), and a poison request (an
 * input the key-frame stage cannot use) that fails its own video with a code while the videos
 * queued around it succeed. The poison carries control characters, which no process may log raw.
 */

const secret = `whsec_${randomBytes(32).toString('base64')}`;
const RECEIVER_DOWN_MS = 20_000;
/** A PNG signature and no image after it: accepted by the API's sniffing, undecodable by the key-frame stage. */
const BROKEN_PNG = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3, 4]);
const HOSTILE_PROMPT = 'poison \u001b[31mred\u001b[0m\r\n{"level":"fatal","msg":"forged"}\u0000\u0007\u0085\u2028';

function hasRawControlCharacter(line: string): boolean {
  return [...line].some((character) => {
    const code = character.codePointAt(0) ?? 0;
    return code < 0x20 || (code >= 0x7f && code <= 0x9f) || code === 0x2028 || code === 0x2029;
  });
}

describe('a webhook receiver down for a while, and a poison request', () => {
  let stack: DistributedStack;
  let receiver: WebhookReceiver;
  let client: ChaosClient;

  beforeAll(async () => {
    receiver = await startWebhookReceiver(secret);
    stack = await startDistributedStack({
      modelsDir: MODELS_DIR,
      env: {
        ORT_INTRA_OP_THREADS: '1',
        LOG_LEVEL: 'info',
        WEBHOOK_SECRETS: `dev=${secret}`,
        // retries every few seconds, enough of them to outlast the receiver's downtime
        WEBHOOK_MAX_ATTEMPTS: '30',
        WEBHOOK_BACKOFF_BASE_MS: '500',
        WEBHOOK_BACKOFF_MAX_MS: '3000',
      },
    });
    client = ChaosClient.of(stack);
  }, 600_000);

  afterAll(async () => {
    await stack?.stop();
    await receiver?.stop();
  }, 120_000);

  it('delivers every event once the receiver is back, each once by webhook-id', async () => {
    await receiver.stop();
    const ids: string[] = [];
    for (let index = 0; index < 2; index += 1) ids.push(await client.accepted({ prompt: `a red circle moving right ${index}`, seed: 80 + index, ...FAST, webhook_url: receiver.url }));
    await new Promise((resolve) => setTimeout(resolve, RECEIVER_DOWN_MS));
    await receiver.start();

    const finished = await Promise.all(ids.map((id) => client.waitForTerminal(id)));
    let duplicated = 0;
    let missing = 0;
    for (const id of ids) {
      // every delivery the API made for the video (its attempt list), each accepted by the receiver exactly once
      const deliveries = async () => {
        const response = await fetch(`${stack.apiUrl}/v1/videos/${id}/webhooks`, { headers: { Authorization: stack.authorization } });
        const { data } = (await response.json()) as { data: { delivery_id: string }[] };
        return new Set(data.map((attempt) => attempt.delivery_id));
      };
      const received = () => receiver.accepted().filter((entry) => entry.id.startsWith(`${id}.`));
      const deadline = Date.now() + 120_000;
      let expected = await deliveries();
      while ([...expected].some((deliveryId) => !received().some((entry) => entry.id === deliveryId)) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        expected = await deliveries();
      }
      const mine = received();
      const unique = new Set(mine.map((entry) => entry.id));
      duplicated += mine.length - unique.size;
      missing += [...expected].filter((deliveryId) => !unique.has(deliveryId)).length;
      expect(expected.size).toBeGreaterThan(2);
      expect(mine.map((entry) => entry.verified?.type)).toContain('video.succeeded');
    }
    // the downtime was felt: attempts failed before the receiver came back
    let failedAttempts = 0;
    for (const id of ids) {
      const response = await fetch(`${stack.apiUrl}/v1/videos/${id}/webhooks`, { headers: { Authorization: stack.authorization } });
      const { data } = (await response.json()) as { data: { outcome: string }[] };
      failedAttempts += data.filter((attempt) => attempt.outcome !== 'success').length;
    }
    writeChaosRecord('webhook-receiver-down', {
      fault: `webhook receiver down ${RECEIVER_DOWN_MS / 1000} s while videos run`,
      faultsInjected: 1,
      videosAccepted: ids.length,
      videosSucceeded: finished.filter((video) => video.status === 'succeeded').length,
      videosLost: finished.filter((video) => video.status !== 'succeeded').length,
      duplicated,
      eventsMissing: missing,
      eventsDelivered: receiver.accepted().length,
      failedAttemptsWhileDown: failedAttempts,
    });
    expect(failedAttempts).toBeGreaterThan(0);
    expect({ duplicated, missing }).toEqual({ duplicated: 0, missing: 0 });
    expect(finished.map((video) => video.status)).toEqual(ids.map(() => 'succeeded'));
  });

  it('fails the poison video with a code and finishes the videos queued around it', async () => {
    const before = await client.accepted({ prompt: 'a red circle moving right', seed: 90, ...FAST });
    const form = new FormData();
    form.append('request', JSON.stringify({ prompt: HOSTILE_PROMPT, seed: 91, ...FAST, init: { source: 'image', strength: 0.6 } }));
    form.append('init', new Blob([BROKEN_PNG]), 'init.png');
    const poisonAnswer = await fetch(`${stack.apiUrl}/v1/videos`, { method: 'POST', headers: { Authorization: stack.authorization }, body: form });
    expect(poisonAnswer.status).toBe(202);
    const poison = ((await poisonAnswer.json()) as { id: string }).id;
    const after = await client.accepted({ prompt: 'a blue square moving up', seed: 92, ...FAST });

    const [first, poisoned, last] = await Promise.all([before, poison, after].map((id) => client.waitForTerminal(id)));
    writeChaosRecord('poison-request', {
      fault: 'a poison request (an init image the key-frame stage cannot decode) between two videos',
      faultsInjected: 1,
      videosAccepted: 3,
      videosSucceeded: [first, last].filter((video) => video!.status === 'succeeded').length,
      videosFailedAsExpected: poisoned!.status === 'failed' ? 1 : 0,
      videosLost: [first, last].filter((video) => video!.status !== 'succeeded').length + (poisoned!.status === 'failed' ? 0 : 1),
      duplicated: 0,
      poisonErrorCode: poisoned!.error?.code ?? 'none',
    });
    expect(poisoned!.status).toBe('failed');
    expect(poisoned!.error?.code).toMatch(/^[A-Z][A-Za-z]+$/);
    expect([first!.status, last!.status]).toEqual(['succeeded', 'succeeded']);

    // the poison's prompt reached the key-frame worker, and no process wrote its control characters raw
    const raw = stack.processes.flatMap((process) => `${process.app.stdout()}\n${process.app.stderr()}`.split('\n').filter(hasRawControlCharacter).map((line) => `${process.name}: ${line}`));
    expect(raw).toEqual([]);
  });
});
