import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { GetObjectCommand, PutObjectCommand, S3ServiceException, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { z } from 'zod';
import { ARTIFACT_FILES, artifactKey, type ArtifactName } from '../contracts/artifact-keys';
import { retentionTagging } from '../contracts/artifact-retention';
import { TRANSIENT_NETWORK_ERROR_CODES } from '../network/network-error-codes';

/** A video's artifact that is not in the bucket (never written, or deleted). */
export class ArtifactNotFound extends Error {
  readonly code = 'ArtifactNotFound';
  constructor(readonly key: string) {
    super(`ArtifactNotFound: ${key}`);
    this.name = 'ArtifactNotFound';
  }
}

/** An artifact whose stored JSON does not match the schema it is read with. */
export class InvalidArtifact extends Error {
  readonly code = 'InvalidArtifact';
  constructor(
    readonly key: string,
    detail: string,
  ) {
    super(`InvalidArtifact: ${key}: ${detail}`);
    this.name = 'InvalidArtifact';
  }
}

/** Told the size of every artifact read or written (the metrics' S3 traffic); must not throw. */
export interface ArtifactObserver {
  read(artifact: ArtifactName, bytes: number): void;
  written(artifact: ArtifactName, bytes: number): void;
}

export interface ArtifactStoreOptions {
  /** counts the bytes of each successful read and write */
  observer?: ArtifactObserver;
  /** bodies at least this large go up as multipart uploads (default 16 MiB) */
  multipartThresholdBytes?: number;
  /** multipart part size (default 8 MiB; S3's minimum is 5 MiB for every part but the last) */
  partSizeBytes?: number;
}

const MiB = 1024 * 1024;
const DEFAULT_MULTIPART_THRESHOLD = 16 * MiB;
const DEFAULT_PART_SIZE = 8 * MiB;
/** parts in flight at once per multipart upload */
const UPLOAD_QUEUE_SIZE = 4;

const CONTENT_TYPES_BY_EXTENSION: Record<string, string> = {
  mp4: 'video/mp4',
  webm: 'video/webm',
  gif: 'image/gif',
  json: 'application/json',
  safetensors: 'application/octet-stream',
  bin: 'application/octet-stream',
};

/**
 * DESIGN.md §4: a video's artifacts on S3 under `videos/{videoId}/`, by contract name. Large
 * bodies go up in parts, files are streamed from disk, results are handed out as presigned GETs.
 */
export class ArtifactStore {
  private readonly multipartThresholdBytes: number;
  private readonly partSizeBytes: number;
  private readonly observer: ArtifactObserver | undefined;

  constructor(
    private readonly s3: S3Client,
    readonly bucket: string,
    options: ArtifactStoreOptions = {},
  ) {
    this.multipartThresholdBytes = options.multipartThresholdBytes ?? DEFAULT_MULTIPART_THRESHOLD;
    this.partSizeBytes = options.partSizeBytes ?? DEFAULT_PART_SIZE;
    this.observer = options.observer;
  }

  key(videoId: string, artifact: ArtifactName): string {
    return artifactKey(videoId, artifact);
  }

  /** The content type an artifact is stored with, from its contract file name. */
  contentTypeOf(artifact: ArtifactName): string {
    const extension = ARTIFACT_FILES[artifact].split('.').pop() ?? '';
    return CONTENT_TYPES_BY_EXTENSION[extension] ?? 'application/octet-stream';
  }

  async putBytes(videoId: string, artifact: ArtifactName, bytes: Uint8Array, contentType: string): Promise<string> {
    const key = this.key(videoId, artifact);
    if (bytes.byteLength < this.multipartThresholdBytes) {
      await this.s3.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: bytes, ContentType: contentType, ContentLength: bytes.byteLength, Tagging: retentionTagging(artifact) }));
    } else {
      await this.upload(key, bytes, contentType, artifact);
    }
    this.observer?.written(artifact, bytes.byteLength);
    return key;
  }

  /** Streams a file from disk (a finished video can be large); multipart above the threshold. */
  async putFile(videoId: string, artifact: ArtifactName, path: string, contentType: string): Promise<string> {
    const key = this.key(videoId, artifact);
    const { size } = await stat(path);
    if (size < this.multipartThresholdBytes) {
      // A single PUT needs its length up front for a stream body.
      await this.s3.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: createReadStream(path),
          ContentType: contentType,
          ContentLength: size,
          Tagging: retentionTagging(artifact),
        }),
      );
    } else {
      await this.upload(key, createReadStream(path), contentType, artifact);
    }
    this.observer?.written(artifact, size);
    return key;
  }

  async putJson(videoId: string, artifact: ArtifactName, value: unknown): Promise<string> {
    const bytes = new TextEncoder().encode(JSON.stringify(value));
    return this.putBytes(videoId, artifact, bytes, 'application/json');
  }

  async getBytes(videoId: string, artifact: ArtifactName): Promise<Uint8Array> {
    const key = this.key(videoId, artifact);
    try {
      const response = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      if (response.Body === undefined) throw new ArtifactNotFound(key);
      const bytes = await response.Body.transformToByteArray();
      this.observer?.read(artifact, bytes.byteLength);
      return bytes;
    } catch (error) {
      if (isMissingObject(error)) throw new ArtifactNotFound(key);
      throw error;
    }
  }

  /** The artifact parsed as JSON and checked against `schema`; undefined when it does not exist. */
  async getJson<T>(videoId: string, artifact: ArtifactName, schema: z.ZodType<T>): Promise<T | undefined> {
    let bytes: Uint8Array;
    try {
      bytes = await this.getBytes(videoId, artifact);
    } catch (error) {
      if (error instanceof ArtifactNotFound) return undefined;
      throw error;
    }
    const key = this.key(videoId, artifact);
    let value: unknown;
    try {
      value = JSON.parse(new TextDecoder().decode(bytes));
    } catch (error) {
      throw new InvalidArtifact(key, `not JSON (${(error as Error).message})`);
    }
    const parsed = schema.safeParse(value);
    if (!parsed.success) throw new InvalidArtifact(key, parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; '));
    return parsed.data;
  }

  /** A GET URL anyone can fetch until it expires; nothing is checked against the bucket. */
  async presign(videoId: string, artifact: ArtifactName, expiresInSeconds: number): Promise<{ url: string; expiresAt: string }> {
    const signedAt = Date.now();
    const url = await getSignedUrl(this.s3, new GetObjectCommand({ Bucket: this.bucket, Key: this.key(videoId, artifact) }), {
      expiresIn: expiresInSeconds,
    });
    return { url, expiresAt: new Date(signedAt + expiresInSeconds * 1000).toISOString() };
  }

  private async upload(key: string, body: Uint8Array | NodeJS.ReadableStream, contentType: string, artifact: ArtifactName): Promise<void> {
    const upload = new Upload({
      client: this.s3,
      // Tagging goes with CreateMultipartUpload (or the single PUT), so the object is tagged from the start.
      params: { Bucket: this.bucket, Key: key, Body: body as Uint8Array, ContentType: contentType, Tagging: retentionTagging(artifact) },
      partSize: this.partSizeBytes,
      queueSize: UPLOAD_QUEUE_SIZE,
      leavePartsOnError: false,
    });
    await upload.done();
  }
}

function isMissingObject(error: unknown): boolean {
  if (!(error instanceof S3ServiceException)) return false;
  return error.name === 'NoSuchKey' || error.name === 'NotFound' || error.$metadata.httpStatusCode === 404;
}

const TRANSIENT_ERROR_NAMES = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'RequestTimeout',
  'RequestTimeoutException',
  'RequestTimeTooSkewed',
  'InternalError',
  'ServiceUnavailable',
  'TimeoutError',
  'AbortError',
]);

/**
 * Whether retrying the storage call may succeed (DESIGN.md §3: a stage retries transient
 * storage errors with backoff and fails at once on the rest): network failures, timeouts,
 * throttling and 5xx are transient; a 4xx (a missing key, a denied request) is not.
 */
export function isTransientStorageError(error: unknown): boolean {
  if (error instanceof ArtifactNotFound || error instanceof InvalidArtifact) return false;
  if (!(error instanceof Error)) return false;
  if (error instanceof S3ServiceException) {
    const status = error.$metadata.httpStatusCode;
    if (TRANSIENT_ERROR_NAMES.has(error.name)) return true;
    if (error.$retryable !== undefined) return true;
    if (status !== undefined) return status >= 500 || status === 429;
  }
  if (TRANSIENT_ERROR_NAMES.has(error.name)) return true;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && TRANSIENT_NETWORK_ERROR_CODES.has(code)) return true;
  const cause = (error as { cause?: unknown }).cause;
  if (cause !== undefined && cause !== error) return isTransientStorageError(cause);
  // An AggregateError (Node's happy-eyeballs connect) carries each address's failure.
  if (error instanceof AggregateError) return error.errors.some((inner) => isTransientStorageError(inner));
  return false;
}
