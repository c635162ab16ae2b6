import { type DistributedStack, startAppProcess, startDistributedStack, waitForHttpStatus } from '@magicvideo/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChaosClient, FAST, MODELS_DIR, writeChaosRecord } from '../chaos-client';
import { listenToVideo } from '../sse-listener';

/**
 * The API restarted while SSE clients listen (issue 9): each client reconnects with
 * Last-Event-ID, like a browser's EventSource, and in the end has received every event of its
 * video exactly once, in order, the same list a fresh read of the whole stream gives.
 */

const VIDEOS = 2;
const LISTENERS_PER_VIDEO = 3;

describe('API restart under SSE listeners', () => {
  let stack: DistributedStack;

  beforeAll(async () => {
    stack = await startDistributedStack({ modelsDir: MODELS_DIR, env: { ORT_INTRA_OP_THREADS: '1', LOG_LEVEL: 'warn' } });
  }, 600_000);

  afterAll(async () => {
    await stack?.stop();
  }, 120_000);

  it('reconnects every listener with Last-Event-ID, missing no event and seeing none twice', async () => {
    const client = ChaosClient.of(stack);
    const ids: string[] = [];
    for (let index = 0; index < VIDEOS; index += 1) ids.push(await client.accepted({ prompt: `a green square moving up ${index}`, seed: 40 + index, ...FAST, num_inference_steps: 8 }));
    const listeners = ids.flatMap((id) => Array.from({ length: LISTENERS_PER_VIDEO }, () => ({ id, listener: listenToVideo(() => stack.apiUrl, stack.authorization, id) })));
    await client.waitFor(ids[0]!, (video) => (video.stages.keyframe?.step ?? 0) >= 2);
    const heardBefore = listeners.map(({ listener }) => listener.eventIds.length);

    const api = stack.processes.find((process) => process.name === 'api')!;
    api.app.kill('SIGTERM');
    await api.app.exited;
    const restarted = startAppProcess('apps/api', { ...api.app.env });
    stack.processes.push({ name: 'api#2', app: restarted, url: api.url });
    await waitForHttpStatus(`${api.url}/readyz`, 200, 120_000);

    await Promise.all(listeners.map(({ listener }) => listener.done));
    const problems: string[] = [];
    let duplicated = 0;
    let missed = 0;
    for (const { id, listener } of listeners) {
      // the whole stream read afresh once the video is done: the list every listener must have
      const complete = listenToVideo(() => stack.apiUrl, stack.authorization, id);
      await complete.done;
      duplicated += listener.eventIds.length - new Set(listener.eventIds).size;
      missed += complete.eventIds.filter((eventId) => !listener.eventIds.includes(eventId)).length;
      if (JSON.stringify(listener.eventIds) !== JSON.stringify(complete.eventIds)) problems.push(`${id}: ${listener.eventIds.join(',')} vs ${complete.eventIds.join(',')}`);
    }
    const finished = await Promise.all(ids.map((id) => client.waitForTerminal(id)));
    writeChaosRecord('api-restart-sse', {
      fault: `API restarted (SIGTERM, started again) under ${listeners.length} SSE listeners`,
      faultsInjected: 1,
      videosAccepted: ids.length,
      videosSucceeded: finished.filter((video) => video.status === 'succeeded').length,
      videosLost: finished.filter((video) => video.status !== 'succeeded').length,
      duplicated,
      eventsMissed: missed,
      listeners: listeners.length,
      listenerReconnects: listeners.reduce((sum, { listener }) => sum + listener.reconnects, 0),
    });
    expect(problems).toEqual([]);
    expect(finished.map((video) => video.status)).toEqual(ids.map(() => 'succeeded'));
    // the restart really cut them: every listener had heard something before and reconnected after
    expect(heardBefore.every((count) => count > 0)).toBe(true);
    expect(listeners.every(({ listener }) => listener.reconnects >= 1)).toBe(true);
  });
});
