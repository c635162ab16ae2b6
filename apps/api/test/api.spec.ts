import { type AppUnderTest, startAppProcess, startAppUnderTest, startTestServices, waitForHttpStatus } from '@magicvideo/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const MODELS_DIR = 'assets/models/magicvideo-shapes';

describe('api process', () => {
  it('exits non-zero naming REDIS_URL when it is not a Redis URL', async () => {
    const app = startAppProcess('apps/api', { REDIS_URL: 'notaurl', S3_BUCKET: 'magicvideo' });
    const { code } = await app.exited;
    expect(code).not.toBe(0);
    expect(app.stderr()).toContain('REDIS_URL: expected a redis:// or rediss:// URL, got "notaurl"');
  });

  it('exits non-zero naming the model folder when its model_index.json cannot be read', async () => {
    const services = await startTestServices();
    try {
      const app = startAppProcess('apps/api', { ...services.env, API_KEYS: 'alice:alice-key', MODELS_DIR: 'assets/models/no-such-model', PORT: '0' });
      const { code } = await app.exited;
      expect(code).not.toBe(0);
      expect(app.stdout()).toContain('InvalidModelManifest: assets/models/no-such-model/model_index.json');
    } finally {
      await services.stop();
    }
  });

  describe('running against real Redis and S3', () => {
    let api: AppUnderTest;

    beforeAll(async () => {
      api = await startAppUnderTest('apps/api', 'PORT', { SHUTDOWN_GRACE_MS: '5000', API_KEYS: 'alice:alice-key', MODELS_DIR });
    });

    afterAll(async () => {
      await api?.stop();
    });

    it('answers /healthz with 200', async () => {
      const response = await fetch(`${api.baseUrl}/healthz`);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ status: 'ok' });
    });

    it('answers /readyz with 200 while Redis and S3 answer', async () => {
      const response = await fetch(`${api.baseUrl}/readyz`);
      expect(await response.json()).toEqual({ status: 'ok', checks: { redis: { ok: true }, s3: { ok: true } } });
      expect(response.status).toBe(200);
    });

    it('answers /readyz with 503 naming redis while Redis is down, and recovers without a restart', async () => {
      await api.stopRedis();
      const down = await waitForHttpStatus(`${api.baseUrl}/readyz`, 503);
      expect(down.body).toMatchObject({
        status: 'unavailable',
        checks: { redis: { ok: false, error: expect.any(String) }, s3: { ok: true } },
      });

      await api.restartRedis();
      const up = await waitForHttpStatus(`${api.baseUrl}/readyz`, 200);
      expect(up.body).toEqual({ status: 'ok', checks: { redis: { ok: true }, s3: { ok: true } } });
    });

    it('exits 0 on SIGTERM', async () => {
      api.app.kill('SIGTERM');
      expect(await api.app.exited).toEqual({ code: 0, signal: null });
      expect(api.app.stdout()).toContain('shutdown complete');
    });
  });
});
