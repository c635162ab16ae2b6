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
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

describe('api process', () => {
  it('exits non-zero naming REDIS_URL when it is not a Redis URL', async () => {
    const app = startAppProcess('apps/api', { REDIS_URL: 'notaurl', S3_BUCKET: 'magicvideo' });
    const { code } = await app.exited;
    expect(code).not.toBe(0);
    expect(app.stderr()).toContain('REDIS_URL: expected a redis:// or rediss:// URL, got "notaurl"');
  });

  describe('running against real Redis and S3', () => {
    let services: TestServices;
    let redis: RedisServerProcess;
    let app: AppProcess;
    let base: string;

    beforeAll(async () => {
      services = await startTestServices();
      // The app's Redis is one this test owns, so it can stop and restart it.
      redis = await startRedisServer();
      const port = await findFreePort();
      base = `http://127.0.0.1:${port}`;
      app = startAppProcess('apps/api', {
        ...services.env,
        REDIS_URL: redis.url,
        PORT: String(port),
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

    it('answers /healthz with 200', async () => {
      const response = await fetch(`${base}/healthz`);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ status: 'ok' });
    });

    it('answers /readyz with 200 while Redis and S3 answer', async () => {
      const response = await fetch(`${base}/readyz`);
      expect(await response.json()).toEqual({ status: 'ok', checks: { redis: { ok: true }, s3: { ok: true } } });
      expect(response.status).toBe(200);
    });

    it('answers /readyz with 503 naming redis while Redis is down, and recovers without a restart', async () => {
      await redis.stop();
      const down = await waitForHttpStatus(`${base}/readyz`, 503);
      expect(down.body).toMatchObject({
        status: 'unavailable',
        checks: { redis: { ok: false, error: expect.any(String) }, s3: { ok: true } },
      });

      redis = await startRedisServer({ port: redis.port });
      const up = await waitForHttpStatus(`${base}/readyz`, 200);
      expect(up.body).toEqual({ status: 'ok', checks: { redis: { ok: true }, s3: { ok: true } } });
    });

    it('exits 0 on SIGTERM', async () => {
      app.kill('SIGTERM');
      expect(await app.exited).toEqual({ code: 0, signal: null });
      expect(app.stdout()).toContain('shutdown complete');
    });
  });
});
