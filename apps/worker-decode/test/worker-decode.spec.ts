import {
  type AppProcess,
  findFreePort,
  type RedisServerProcess,
  startAppProcess,
  startRedisServer,
  startTestServices,
  type TestServices,
  waitForHttpStatus,
} from '@magicvideo/shared/testing';
import { Job, Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

async function waitForFailure(queue: Queue, jobId: string, timeoutMs = 20_000): Promise<Job> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const job = await Job.fromId(queue, jobId);
    if (job && (await job.getState()) === 'failed') return job;
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
    let services: TestServices;
    let redis: RedisServerProcess;
    let app: AppProcess;
    let base: string;

    beforeAll(async () => {
      services = await startTestServices();
      redis = await startRedisServer();
      const port = await findFreePort();
      base = `http://127.0.0.1:${port}`;
      app = startAppProcess('apps/worker-decode', {
        ...services.env,
        REDIS_URL: redis.url,
        HEALTH_PORT: String(port),
        NODE_ENV: 'test',
        SHUTDOWN_GRACE_MS: '5000',
      });
      await waitForHttpStatus(`${base}/healthz`, 200, 60_000);
    });

    afterAll(async () => {
      app?.kill('SIGKILL');
      await redis?.stop();
      await services?.stop();
    });

    it('answers /healthz with 200 and /readyz with 200 while Redis and S3 answer', async () => {
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      const ready = await fetch(`${base}/readyz`);
      expect(await ready.json()).toEqual({ status: 'ok', checks: { redis: { ok: true }, s3: { ok: true } } });
      expect(ready.status).toBe(200);
    });

    it('consumes the decode queue under the configured prefix and fails jobs with StageNotImplemented', async () => {
      const queue = new Queue('decode', { connection: { url: redis.url }, prefix: services.queuePrefix });
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
      await redis.stop();
      const down = await waitForHttpStatus(`${base}/readyz`, 503);
      expect(down.body).toMatchObject({ status: 'unavailable', checks: { redis: { ok: false }, s3: { ok: true } } });
      redis = await startRedisServer({ port: redis.port });
      await waitForHttpStatus(`${base}/readyz`, 200);
    });

    it('exits 0 on SIGTERM after closing the BullMQ worker', async () => {
      app.kill('SIGTERM');
      expect(await app.exited).toEqual({ code: 0, signal: null });
      expect(app.stdout()).toContain('"closer":"bullmq worker"');
      expect(app.stdout()).toContain('shutdown complete');
    });
  });
});
