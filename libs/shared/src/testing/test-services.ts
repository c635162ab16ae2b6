import { randomBytes } from 'node:crypto';
import { DeleteBucketCommand, DeleteObjectsCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { Redis } from 'ioredis';
import { createS3Client, ensureBucket } from '../storage/s3-client';
import { findTestRedis, type RedisSource } from './test-redis';
import { findTestS3, type S3Source } from './test-s3';

export interface TestServices {
  redis: { url: string; source: RedisSource };
  /** This test's own BullMQ prefix, `{mv-test-<random>}`: a hash tag like production's `{mv}`. */
  queuePrefix: string;
  s3: {
    endpoint: string;
    region: string;
    /** This test's own bucket, created empty. */
    bucket: string;
    accessKeyId: string;
    secretAccessKey: string;
    forcePathStyle: true;
    source: S3Source;
  };
  /** The app environment variables that point a spawned API or worker at these services. */
  env: Record<string, string>;
  /** Why earlier branches of the search were passed over. */
  notes: string[];
  /** Deletes this test's keys and bucket, and stops any server the harness started. */
  stop(): Promise<void>;
}

export interface StartTestServicesOptions {
  redis?: 'auto' | RedisSource;
  s3?: 'auto' | S3Source;
  env?: NodeJS.ProcessEnv;
}

/**
 * Finds or starts Redis and S3 (DESIGN.md §10) and gives the calling test its own queue prefix
 * and bucket, so test files can run in parallel against the same servers. Nothing is mocked.
 */
export async function startTestServices(options: StartTestServicesOptions = {}): Promise<TestServices> {
  const id = randomBytes(5).toString('hex');
  const queuePrefix = `{mv-test-${id}}`;
  const bucket = `mv-test-${id}`;
  const redis = await findTestRedis({ prefer: options.redis ?? 'auto', env: options.env });
  let s3: Awaited<ReturnType<typeof findTestS3>>;
  try {
    s3 = await findTestS3({ prefer: options.s3 ?? 'auto', env: options.env });
  } catch (error) {
    await redis.stop();
    throw error;
  }
  const credentials = { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey };
  const s3Client = createS3Client({ endpoint: s3.endpoint, region: s3.region, credentials, forcePathStyle: true });
  await ensureBucket(s3Client, bucket);

  return {
    redis: { url: redis.url, source: redis.source },
    queuePrefix,
    s3: { endpoint: s3.endpoint, region: s3.region, bucket, ...credentials, forcePathStyle: true, source: s3.source },
    env: {
      REDIS_URL: redis.url,
      QUEUE_PREFIX: queuePrefix,
      S3_ENDPOINT: s3.endpoint,
      S3_REGION: s3.region,
      S3_BUCKET: bucket,
      S3_ACCESS_KEY_ID: s3.accessKeyId,
      S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
      S3_FORCE_PATH_STYLE: 'true',
    },
    notes: [...redis.notes, ...s3.notes],
    async stop() {
      try {
        await deleteKeysWithPrefix(redis.url, queuePrefix);
        await deleteBucket(s3Client, bucket);
      } finally {
        s3Client.destroy();
        await redis.stop();
        await s3.stop();
      }
    },
  };
}

async function deleteKeysWithPrefix(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      // `{` and `}` are literal in Redis glob patterns; `*`, `?`, `[` and `\` never occur in our prefixes.
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    await redis.quit();
  }
}

async function deleteBucket(s3: S3Client, bucket: string): Promise<void> {
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    const objects = (page.Contents ?? []).flatMap((object) => (object.Key ? [{ Key: object.Key }] : []));
    if (objects.length > 0) await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects } }));
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
}
