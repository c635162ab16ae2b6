import { STAGE_NAMES, type StageName } from '@magicvideo/shared';
import { type DistributedStack, startDistributedStack } from '@magicvideo/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifactKeysOf, ChaosClient, FAST, KILLABLE_WORKER_ENV, MODELS_DIR, type VideoView, writeChaosRecord } from '../chaos-client';

/**
 * SIGKILL each kind of stage worker in the middle of its stage (issue 9): the stage is taken
 * over by a fresh worker, the video succeeds, its MP4 is byte for byte the one an uninterrupted
 * run with the same seed made, and it wrote exactly the same object keys (no stage output twice
 * under another key).
 */

/** Each model call lasts at least this long, so every stage has steps to be killed between. */
const SLOW_ENOUGH = { ...KILLABLE_WORKER_ENV, DEBUG_MODEL_CALL_MIN_MS: '200' };
const BODY = { prompt: 'a yellow circle moving down', seed: 21, ...FAST };

describe('SIGKILL of a stage worker mid-stage', () => {
  let stack: DistributedStack;
  let client: ChaosClient;
  let reference: VideoView;
  let referenceBytes: Buffer;
  let referenceKeys: string[];
  const results: { stage: StageName; accepted: boolean; succeeded: boolean; identical: boolean; extraKeys: number }[] = [];

  beforeAll(async () => {
    stack = await startDistributedStack({
      modelsDir: MODELS_DIR,
      env: { ORT_INTRA_OP_THREADS: '1', LOG_LEVEL: 'warn' },
      workerEnv: Object.fromEntries(STAGE_NAMES.map((stage) => [stage, SLOW_ENOUGH])),
    });
    client = ChaosClient.of(stack);
    reference = await client.waitForTerminal(await client.accepted(BODY));
    expect(reference.status, JSON.stringify(reference.error)).toBe('succeeded');
    referenceBytes = await client.mp4(reference);
    referenceKeys = await artifactKeysOf(stack, reference.id);
  }, 600_000);

  afterAll(async () => {
    if (results.length > 0) {
      writeChaosRecord('worker-sigkill', {
        fault: 'SIGKILL of each stage worker mid-stage',
        faultsInjected: results.length,
        videosAccepted: results.filter((result) => result.accepted).length,
        videosSucceeded: results.filter((result) => result.succeeded).length,
        videosLost: results.filter((result) => !result.succeeded).length,
        duplicated: results.reduce((sum, result) => sum + result.extraKeys, 0),
        identicalToUninterrupted: results.filter((result) => result.identical).length,
      });
    }
    await stack?.stop();
  }, 120_000);

  it.each(STAGE_NAMES.map((stage) => ({ stage })))('takes over $stage after its worker is SIGKILLed mid-stage, with identical bytes and keys', async ({ stage }) => {
    const id = await client.accepted(BODY);
    const result = { stage, accepted: true, succeeded: false, identical: false, extraKeys: 0 };
    results.push(result);
    const midStage = await client.waitFor(id, (video) => {
      const progress = video.stages[stage];
      return progress !== undefined && progress.step >= 1 && progress.step < progress.total_steps;
    });
    expect(midStage.status).toBe('running');
    const victim = [...stack.processes].reverse().find((process) => process.name.split('#')[0] === stage);
    expect(victim).toBeDefined();
    victim!.app.kill('SIGKILL');
    expect((await victim!.app.exited).signal).toBe('SIGKILL');
    await stack.startWorker(stage, SLOW_ENOUGH);

    const video = await client.waitForTerminal(id);
    expect(video.status, JSON.stringify(video.error)).toBe('succeeded');
    result.succeeded = true;
    // killed mid-stage: the stage ran twice, every other stage once
    expect(video.stages[stage]!.attempts).toBe(2);
    const bytes = await client.mp4(video);
    result.identical = bytes.equals(referenceBytes);
    expect(result.identical).toBe(true);
    const keys = await artifactKeysOf(stack, id);
    result.extraKeys = keys.filter((key) => !referenceKeys.includes(key)).length;
    expect(keys).toEqual(referenceKeys);
  });
});
