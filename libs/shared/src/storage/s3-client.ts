import { CreateBucketCommand, HeadBucketCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import type { S3Config } from '../config/app-config';

/**
 * An S3 client for AWS S3 or an S3-compatible server (MinIO, s3rver). Checksums only when the
 * operation requires them: S3-compatible servers do not all understand the SDK's default
 * CRC32 trailers.
 */
export function createS3Client(config: Pick<S3Config, 'endpoint' | 'region' | 'credentials' | 'forcePathStyle'>): S3Client {
  return new S3Client({
    region: config.region,
    forcePathStyle: config.forcePathStyle,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    ...(config.endpoint !== undefined ? { endpoint: config.endpoint } : {}),
    ...(config.credentials !== undefined ? { credentials: config.credentials } : {}),
  });
}

/** Creates the bucket unless it exists (S3_CREATE_BUCKET, for development and tests). */
export async function ensureBucket(s3: S3Client, bucket: string): Promise<'created' | 'exists'> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
    return 'exists';
  } catch (error) {
    if (!(error instanceof S3ServiceException) || error.$metadata.httpStatusCode !== 404) throw error;
  }
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  return 'created';
}
