import { type DistributedStack, findTestS3, startDistributedStack, type TestS3 } from '@magicvideo/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChaosClient, FAST, MODELS_DIR, writeChaosRecord } from '../chaos-client';
import { startTcpFaultProxy, type TcpFaultProxy } from '../tcp-fault-proxy';

/**
 * The S3 endpoint gone for 20 s in the middle of a run (issue 9): every process reaches S3
 * through a proxy that cuts all connections and refuses new ones for the outage. Stages that hit
 * it fail with a transient error, retry with backoff, and every video succeeds.
 *
 * The retry budget must outlast the outage: with STAGE_BACKOFF_MS=2000 doubling, STAGE_ATTEMPTS=6
 * waits 2+4+8+16 s, where the default 3 attempts wait only 6 s.
 */

const OUTAGE_MS = 20_000;
const VIDEOS = 3;

describe('S3 outage of 20 s mid-run', () => {
  let s3: TestS3;
  let proxy: TcpFaultProxy;
  let stack: DistributedStack;
  const saved = { ...process.env };

  beforeAll(async () => {
    s3 = await findTestS3({ prefer: 's3rver' });
    proxy = await startTcpFaultProxy({ host: '127.0.0.1', port: Number(new URL(s3.endpoint).port) });
    // the harness takes S3 from S3_ENDPOINT when set: the proxy, for the test's own clients and every process
    process.env.S3_ENDPOINT = `http://127.0.0.1:${proxy.port}`;
    process.env.S3_ACCESS_KEY_ID = s3.accessKeyId;
    process.env.S3_SECRET_ACCESS_KEY = s3.secretAccessKey;
    stack = await startDistributedStack({
      modelsDir: MODELS_DIR,
      env: { ORT_INTRA_OP_THREADS: '1', LOG_LEVEL: 'warn', STAGE_ATTEMPTS: '6', STAGE_BACKOFF_MS: '2000' },
    });
  }, 600_000);

  afterAll(async () => {
    await proxy?.comeBack().catch((error: Error) => error);
    await stack?.stop();
    await proxy?.close();
    await s3?.stop();
    process.env = saved;
  }, 120_000);

  it('retries the stages that hit the outage and finishes every video', async () => {
    const client = ChaosClient.of(stack);
    const ids: string[] = [];
    for (let index = 0; index < VIDEOS; index += 1) ids.push(await client.accepted({ prompt: `a blue triangle moving left ${index}`, seed: 60 + index, ...FAST }));
    await client.waitFor(ids[0]!, (video) => (video.stages.keyframe?.step ?? 0) >= 1);

    await proxy.goDown();
    await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
    await proxy.comeBack();

    const finished = await Promise.all(ids.map((id) => client.waitForTerminal(id, 600_000)));
    const retries = finished.reduce((sum, video) => sum + Object.values(video.stages).reduce((stageSum, stage) => stageSum + Math.max(0, stage.attempts - 1), 0), 0);
    writeChaosRecord('s3-outage', {
      fault: `S3 endpoint down ${OUTAGE_MS / 1000} s mid-run (connections cut, new ones refused)`,
      faultsInjected: 1,
      videosAccepted: ids.length,
      videosSucceeded: finished.filter((video) => video.status === 'succeeded').length,
      videosLost: finished.filter((video) => video.status !== 'succeeded').length,
      duplicated: (await client.listIds()).length - ids.length,
      stageRetries: retries,
    });
    expect(finished.map((video) => `${video.status} ${video.error?.code ?? ''}`)).toEqual(ids.map(() => 'succeeded '));
    // the outage was felt: some stage ran more than once
    expect(retries).toBeGreaterThan(0);
  });
});
