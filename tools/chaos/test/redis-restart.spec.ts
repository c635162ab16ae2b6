import { type DistributedStack, startDistributedStack } from '@magicvideo/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AofRedisServer, startAofRedisServer } from '../aof-redis-server';
import { ChaosClient, FAST, KILLABLE_WORKER_ENV, MODELS_DIR, TERMINAL_STATUSES, type VideoView, writeChaosRecord } from '../chaos-client';

/**
 * Redis restarted in the middle of a run (issue 9): the stack runs on a redis-server of its own
 * with AOF, which is stopped while videos are in flight and started again on the same port. No
 * accepted video is lost (every 202 ends in a terminal status, here: succeeded), and the API and
 * the workers reconnect by themselves (none of them is restarted).
 */

const VIDEOS = 6;
const DOWN_MS = 5_000;

describe('Redis restart mid-run', () => {
  let redis: AofRedisServer;
  let stack: DistributedStack;

  beforeAll(async () => {
    redis = await startAofRedisServer();
    stack = await startDistributedStack({
      modelsDir: MODELS_DIR,
      env: { REDIS_URL: redis.url, ORT_INTRA_OP_THREADS: '1', LOG_LEVEL: 'warn', ...KILLABLE_WORKER_ENV },
    });
  }, 600_000);

  afterAll(async () => {
    await stack?.stop();
    await redis?.destroy();
  }, 120_000);

  it('loses no accepted video and needs no process restart', async () => {
    const client = ChaosClient.of(stack);
    const exited: string[] = [];
    for (const process of stack.processes) void process.app.exited.then(() => exited.push(process.name));

    const ids: string[] = [];
    for (let index = 0; index < VIDEOS; index += 1) ids.push(await client.accepted({ prompt: `a red circle moving right ${index}`, seed: index, ...FAST }));
    await client.waitFor(ids[0]!, (video) => (video.stages.keyframe?.step ?? 0) >= 1);

    await redis.stop();
    await new Promise((resolve) => setTimeout(resolve, DOWN_MS));
    await redis.start();

    const finished: VideoView[] = [];
    for (const id of ids) finished.push(await client.waitForTerminal(id, 600_000));
    const succeeded = finished.filter((video) => video.status === 'succeeded').length;
    const listed = await client.listIds();
    writeChaosRecord('redis-restart', {
      fault: `Redis (AOF) stopped for ${DOWN_MS / 1000} s mid-run, then restarted`,
      faultsInjected: 1,
      videosAccepted: ids.length,
      videosSucceeded: succeeded,
      // every video here should succeed: one that ended otherwise is lost as surely as one never finished
      videosLost: ids.length - succeeded,
      // a video the key sees that it was never answered 202 for (a replayed submission, say)
      duplicated: listed.length - ids.length,
      notTerminal: ids.length - finished.filter((video) => TERMINAL_STATUSES.includes(video.status)).length,
      processRestarts: exited.length,
    });
    expect(finished.map((video) => `${video.id} ${video.status} ${video.error?.code ?? ''}`)).toEqual(ids.map((id) => `${id} succeeded `));
    expect(exited).toEqual([]);
    expect(listed.sort()).toEqual([...ids].sort());
    // every process answers its readiness probe again: they reconnected on their own
    for (const process of stack.processes) expect((await fetch(`${process.url}/readyz`)).status, process.name).toBe(200);
  });
});
