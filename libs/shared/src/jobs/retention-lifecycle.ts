import {
  GetBucketLifecycleConfigurationCommand,
  type LifecycleRule,
  PutBucketLifecycleConfigurationCommand,
  S3ServiceException,
  type S3Client,
} from '@aws-sdk/client-s3';
import { RETENTION_TAG } from '../contracts/artifact-retention';
import type { RetentionPeriods } from './video-retention';

export { RETENTION_TAG };

/**
 * The bucket's lifecycle rules for retention (issue 15): the sweeper deletes on time, these rules
 * are the backstop for whatever it misses (a sweeper down for days, an object written after its
 * sweep). S3 counts in whole days, so each rule expires a day after the period rounded up; they
 * select objects by the tag each artifact is written with (`magicvideo-retention`).
 */

const RULE_ID_PREFIX = 'magicvideo-';
const DAY_SECONDS = 86_400;

const backstopDays = (seconds: number): number => Math.ceil(seconds / DAY_SECONDS) + 1;

/** Our rules: intermediates and results by tag, and unfinished multipart uploads under `videos/`. */
export function retentionLifecycleRules(periods: RetentionPeriods): LifecycleRule[] {
  const byTag = (value: 'intermediate' | 'result', seconds: number): LifecycleRule => ({
    ID: `${RULE_ID_PREFIX}${value}`,
    Status: 'Enabled',
    Filter: { And: { Prefix: 'videos/', Tags: [{ Key: RETENTION_TAG, Value: value }] } },
    Expiration: { Days: backstopDays(seconds) },
  });
  return [
    byTag('intermediate', periods.intermediateSeconds),
    byTag('result', periods.resultSeconds),
    { ID: `${RULE_ID_PREFIX}incomplete-uploads`, Status: 'Enabled', Filter: { Prefix: 'videos/' }, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } },
  ];
}

/** The bucket's rules with ours replaced: rules someone else set on the bucket stay. */
export function mergeLifecycleRules(existing: readonly LifecycleRule[], ours: readonly LifecycleRule[]): LifecycleRule[] {
  return [...existing.filter((rule) => !(rule.ID ?? '').startsWith(RULE_ID_PREFIX)), ...ours];
}

/**
 * Sets our rules on the bucket. `unsupported` when the S3 server has no lifecycle API (s3rver,
 * some S3-compatible stores): the sweeper alone enforces retention there.
 */
export async function applyRetentionLifecycle(s3: S3Client, bucket: string, periods: RetentionPeriods): Promise<'applied' | 'unsupported'> {
  let existing: LifecycleRule[];
  try {
    existing = (await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }))).Rules ?? [];
  } catch (error) {
    if (isNamed(error, 'NotImplemented')) return 'unsupported';
    if (!isNamed(error, 'NoSuchLifecycleConfiguration')) throw error;
    existing = [];
  }
  try {
    await s3.send(
      new PutBucketLifecycleConfigurationCommand({ Bucket: bucket, LifecycleConfiguration: { Rules: mergeLifecycleRules(existing, retentionLifecycleRules(periods)) } }),
    );
  } catch (error) {
    if (isNamed(error, 'NotImplemented')) return 'unsupported';
    throw error;
  }
  return 'applied';
}

function isNamed(error: unknown, name: string): boolean {
  return error instanceof S3ServiceException && (error.name === name || (error as { Code?: unknown }).Code === name);
}
