import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startTestServices, type TestServices } from '../testing';
import { ArtifactNotFound, ArtifactStore, InvalidArtifact, isTransientStorageError } from './artifact-store';
import { createS3Client } from './s3-client';

const MiB = 1024 * 1024;

describe('ArtifactStore (against a real S3 server)', () => {
  let services: TestServices;
  let s3: S3Client;
  let store: ArtifactStore;
  const commandsSent: string[] = [];

  beforeAll(async () => {
    services = await startTestServices();
    const { endpoint, region, accessKeyId, secretAccessKey } = services.s3;
    s3 = createS3Client({ endpoint, region, credentials: { accessKeyId, secretAccessKey }, forcePathStyle: true });
    // Records what the store asks of S3, to see that a large body really goes up in parts.
    s3.middlewareStack.add(
      (next, context) => async (args) => {
        commandsSent.push(context.commandName ?? '');
        return next(args);
      },
      { step: 'initialize' },
    );
    store = new ArtifactStore(s3, services.s3.bucket, { multipartThresholdBytes: 6 * MiB, partSizeBytes: 5 * MiB });
  }, 60_000);

  afterAll(async () => {
    s3?.destroy();
    await services?.stop();
  });

  it('round-trips small bytes under the contract key with their content type', async () => {
    const bytes = randomBytes(1000);
    const key = await store.putBytes('small-1', 'keyframes', bytes, store.contentTypeOf('keyframes'));
    expect(key).toBe('videos/small-1/keyframes.safetensors');
    expect(Buffer.from(await store.getBytes('small-1', 'keyframes')).equals(bytes)).toBe(true);
    const head = await s3.send(new HeadObjectCommand({ Bucket: services.s3.bucket, Key: key }));
    expect(head.ContentType).toBe('application/octet-stream');
  });

  it('round-trips a body above the multipart threshold (5 MiB parts over 12 MiB)', async () => {
    const bytes = randomBytes(12 * MiB + 123);
    commandsSent.length = 0;
    await store.putBytes('big-1', 'frames', bytes, 'application/octet-stream');
    expect(commandsSent.filter((name) => name === 'UploadPartCommand')).toHaveLength(3);
    expect(commandsSent).toContain('CompleteMultipartUploadCommand');
    const back = await store.getBytes('big-1', 'frames');
    expect(back.byteLength).toBe(bytes.byteLength);
    expect(Buffer.from(back).equals(bytes)).toBe(true);
  }, 60_000);

  it('streams files from disk, small and multipart', async () => {
    const folder = await mkdtemp(path.join(tmpdir(), 'artifact-store-'));
    try {
      for (const [videoId, size] of [['file-small', 4096], ['file-big', 11 * MiB]] as const) {
        const bytes = randomBytes(size);
        const file = path.join(folder, `${videoId}.mp4`);
        await writeFile(file, bytes);
        commandsSent.length = 0;
        await store.putFile(videoId, 'videoMp4', file, 'video/mp4');
        expect(commandsSent.includes('UploadPartCommand')).toBe(size > 6 * MiB);
        expect(Buffer.from(await store.getBytes(videoId, 'videoMp4')).equals(bytes)).toBe(true);
        const head = await s3.send(new HeadObjectCommand({ Bucket: services.s3.bucket, Key: store.key(videoId, 'videoMp4') }));
        expect(head.ContentType).toBe('video/mp4');
      }
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  }, 60_000);

  it('hands out a presigned GET that plain fetch can read', async () => {
    const bytes = randomBytes(2048);
    await store.putBytes('presigned-1', 'preview', bytes, 'image/gif');
    const before = Date.now();
    const { url, expiresAt } = await store.presign('presigned-1', 'preview', 600);
    expect(Date.parse(expiresAt) - before).toBeGreaterThanOrEqual(599_000);
    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(Buffer.from(await response.arrayBuffer()).equals(bytes)).toBe(true);
  });

  it('throws ArtifactNotFound for a missing key, and getJson gives undefined', async () => {
    const missing = await store.getBytes('nobody', 'text').then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(missing).toBeInstanceOf(ArtifactNotFound);
    expect((missing as ArtifactNotFound).code).toBe('ArtifactNotFound');
    expect(isTransientStorageError(missing)).toBe(false);
    await expect(store.getJson('nobody', 'job', z.object({}))).resolves.toBeUndefined();
  });

  it('round-trips JSON checked against a schema, and rejects JSON that does not match it', async () => {
    await store.putJson('json-1', 'request', { prompt: 'a red circle', seed: 7 });
    await expect(store.getJson('json-1', 'request', z.object({ prompt: z.string(), seed: z.number() }))).resolves.toEqual({ prompt: 'a red circle', seed: 7 });
    await expect(store.getJson('json-1', 'request', z.object({ seed: z.string() }))).rejects.toBeInstanceOf(InvalidArtifact);
  });

  it('tells its observer the bytes of each read and write (bytes, files, and a failed read not at all)', async () => {
    const seen: string[] = [];
    const observed = new ArtifactStore(s3, services.s3.bucket, {
      observer: { read: (artifact, bytes) => seen.push(`read ${artifact} ${bytes}`), written: (artifact, bytes) => seen.push(`written ${artifact} ${bytes}`) },
    });
    await observed.putBytes('observed-1', 'text', randomBytes(321), 'application/octet-stream');
    const dir = await mkdtemp(path.join(tmpdir(), 'mv-observer-'));
    try {
      const file = path.join(dir, 'video.mp4');
      await writeFile(file, randomBytes(77));
      await observed.putFile('observed-1', 'videoMp4', file, 'video/mp4');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    await observed.getBytes('observed-1', 'text');
    await expect(observed.getBytes('observed-1', 'frames')).rejects.toBeInstanceOf(ArtifactNotFound);
    expect(seen).toEqual(['written text 321', 'written videoMp4 77', 'read text 321']);
  });

  it('names a content type for every kind of artifact', () => {
    expect(store.contentTypeOf('videoMp4')).toBe('video/mp4');
    expect(store.contentTypeOf('videoWebm')).toBe('video/webm');
    expect(store.contentTypeOf('videoGif')).toBe('image/gif');
    expect(store.contentTypeOf('preview')).toBe('image/gif');
    expect(store.contentTypeOf('job')).toBe('application/json');
    expect(store.contentTypeOf('srFrames')).toBe('application/octet-stream');
  });
});

describe('isTransientStorageError', () => {
  it('is true for a refused connection', async () => {
    // A port nothing listens on: bind one, then close it.
    const { createServer } = await import('node:net');
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    await new Promise<void>((resolve) => server.close(() => resolve()));

    const s3 = createS3Client({
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
      forcePathStyle: true,
    });
    try {
      const error = await new ArtifactStore(s3, 'bucket').getBytes('v1', 'text').then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(Error);
      expect(isTransientStorageError(error)).toBe(true);
    } finally {
      s3.destroy();
    }
  }, 60_000);

  it('sorts S3 service errors by status and name', () => {
    const s3Error = (name: string, status: number) => Object.assign(new Error(name), { name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status } });
    expect(isTransientStorageError(Object.assign(new Error('x'), { code: 'ECONNRESET' }))).toBe(true);
    expect(isTransientStorageError(s3Error('SlowDown', 503))).toBe(true);
    expect(isTransientStorageError(new Error('plain'))).toBe(false);
    expect(isTransientStorageError('not an error')).toBe(false);
  });
});
