import { describe, expect, it } from 'vitest';
import { checkReadiness } from './readiness';

describe('checkReadiness', () => {
  it('is ok when every dependency answers', async () => {
    expect(await checkReadiness({ redis: async () => undefined, s3: async () => undefined })).toEqual({
      status: 'ok',
      checks: { redis: { ok: true }, s3: { ok: true } },
    });
  });

  it('names each failing dependency with its error, and keeps the healthy ones', async () => {
    const report = await checkReadiness({
      redis: async () => {
        throw new Error("Stream isn't writeable and enableOfflineQueue options is false");
      },
      s3: async () => undefined,
    });
    expect(report).toEqual({
      status: 'unavailable',
      checks: {
        redis: { ok: false, error: "Stream isn't writeable and enableOfflineQueue options is false" },
        s3: { ok: true },
      },
    });
  });

  it('reports a dependency that never answers once the timeout passes, and aborts its check', async () => {
    let aborted = false;
    const report = await checkReadiness(
      {
        s3: (signal) =>
          new Promise<void>(() => {
            signal.addEventListener('abort', () => (aborted = true));
          }),
      },
      50,
    );
    expect(report).toEqual({ status: 'unavailable', checks: { s3: { ok: false, error: 'no answer within 50 ms' } } });
    expect(aborted).toBe(true);
  });
});
