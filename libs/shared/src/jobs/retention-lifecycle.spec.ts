import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client } from '../storage/s3-client';
import { startTestServices, type TestServices } from '../testing/test-services';
import { applyRetentionLifecycle, mergeLifecycleRules, RETENTION_TAG, retentionLifecycleRules } from './retention-lifecycle';
import { retentionClassOf } from './video-retention';

describe('retention lifecycle rules', () => {
  it('expire intermediates and results by tag, a day after their periods rounded up to days', () => {
    const rules = retentionLifecycleRules({ intermediateSeconds: 3600, resultSeconds: 7 * 86_400 });
    expect(rules.map((rule) => [rule.ID, rule.Expiration?.Days, rule.Filter?.And?.Tags])).toEqual([
      ['magicvideo-intermediate', 2, [{ Key: RETENTION_TAG, Value: 'intermediate' }]],
      ['magicvideo-result', 8, [{ Key: RETENTION_TAG, Value: 'result' }]],
      ['magicvideo-incomplete-uploads', undefined, undefined],
    ]);
  });

  it('replace only our own rules on the bucket', () => {
    const theirs = { ID: 'logs-expiry', Status: 'Enabled' as const, Filter: { Prefix: 'logs/' }, Expiration: { Days: 30 } };
    const stale = { ID: 'magicvideo-result', Status: 'Enabled' as const, Filter: { Prefix: 'videos/' }, Expiration: { Days: 99 } };
    const ours = retentionLifecycleRules({ intermediateSeconds: 60, resultSeconds: 60 });
    expect(mergeLifecycleRules([theirs, stale], ours)).toEqual([theirs, ...ours]);
  });

  it('tag each artifact with its class; job.json stays as the record', () => {
    expect(retentionClassOf('keyframes')).toBe('intermediate');
    expect(retentionClassOf('init')).toBe('intermediate');
    expect(retentionClassOf('videoMp4')).toBe('result');
    expect(retentionClassOf('job')).toBeUndefined();
  });

  describe('on an S3 server', () => {
    let services: TestServices;
    beforeAll(async () => {
      services = await startTestServices();
    }, 60_000);
    afterAll(async () => {
      await services?.stop();
    });

    it('are applied, or reported unsupported where the server has no lifecycle API (s3rver)', async () => {
      const s3 = createS3Client({ ...services.s3, credentials: services.s3 });
      try {
        const outcome = await applyRetentionLifecycle(s3, services.s3.bucket, { intermediateSeconds: 60, resultSeconds: 120 });
        expect(outcome).toBe(services.s3.source === 's3rver' ? 'unsupported' : 'applied');
      } finally {
        s3.destroy();
      }
    });
  });
});
