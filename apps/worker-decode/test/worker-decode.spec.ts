import { type AppUnderTest, startAppProcess, startAppUnderTest, waitForHttpStatus } from '@magicvideo/shared/testing';
import { Job, Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

async function waitForFailure(queue: Queue, jobId: string, timeoutMs = 20_000): Promise<Job> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    // Read the state first, then the job: a job read before it failed has no failedReason yet.
    if ((await queue.getJobState(jobId)) === 'failed') {
      const job = await Job.fromId(queue, jobId);
      if (job) return job;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`job ${jobId} did not fail within ${timeoutMs} ms`);
}

describe('worker-decode process', () => {
  it('exits non-zero naming REDIS_URL when it is not a Redis URL', async () => {
    const app = startAppProcess('apps/worker-decode', { REDIS_URL: 'notaurl', S3_BUCKET: 'magicvideo' });
    expect((await app.exited).code).not.toBe(0);
    expect(app.stderr()).toContain('REDIS_URL: expected a redis:// or rediss:// URL, got "notaurl"');
  });

  describe('running against real Redis and S3', () => {
    let worker: AppUnderTest;

    beforeAll(async () => {
      worker = await startAppUnderTest('apps/worker-decode', 'HEALTH_PORT', { SHUTDOWN_GRACE_MS: '5000' });
    });

    afterAll(async () => {
      await worker?.stop();
    });

    it('answers /healthz with 200 and /readyz with 200 while Redis and S3 answer', async () => {
      expect((await fetch(`${worker.baseUrl}/healthz`)).status).toBe(200);
      const ready = await fetch(`${worker.baseUrl}/readyz`);
      expect(await ready.json()).toEqual({ status: 'ok', checks: { redis: { ok: true }, s3: { ok: true } } });
      expect(ready.status).toBe(200);
    });

    it('consumes the decode queue under the configured prefix and fails jobs with StageNotImplemented', async () => {
      const { REDIS_URL: url } = worker.app.env;
      const queue = new Queue('decode', { connection: { url }, prefix: worker.services.queuePrefix });
      try {
        const job = await queue.add('decode', { videoId: 'abc', stage: 'decode', params: {}, inputs: {} }, { attempts: 3 });
        const failed = await waitForFailure(queue, job.id!);
        expect(failed.failedReason).toMatch(/^StageNotImplemented: the decode stage is not implemented yet/);
        // Unrecoverable: it failed on the first attempt, with no retries spent.
        expect(failed.attemptsMade).toBe(1);
      } finally {
        await queue.close();
      }
    });

    it('answers /readyz with 503 naming redis while Redis is down, and recovers without a restart', async () => {
      await worker.stopRedis();
      const down = await waitForHttpStatus(`${worker.baseUrl}/readyz`, 503);
      expect(down.body).toMatchObject({ status: 'unavailable', checks: { redis: { ok: false }, s3: { ok: true } } });
      await worker.restartRedis();
      await waitForHttpStatus(`${worker.baseUrl}/readyz`, 200);
    });

    it('exits 0 on SIGTERM after closing the BullMQ worker', async () => {
      worker.app.kill('SIGTERM');
      expect(await worker.app.exited).toEqual({ code: 0, signal: null });
      expect(worker.app.stdout()).toContain('"closer":"bullmq worker"');
      expect(worker.app.stdout()).toContain('shutdown complete');
    });
  });
});
