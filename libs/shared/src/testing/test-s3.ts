import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { detectDockerEngine } from './docker-engine';

/** The part of s3rver 3.x (which ships no type declarations) this harness uses. */
interface S3rverServer {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
  httpServer?: Server;
}
type S3rverConstructor = new (options: {
  address: string;
  port: number;
  silent: boolean;
  directory: string;
  vhostBuckets: boolean;
}) => S3rverServer;
// Loaded through require so its shape is declared here, next to its only use, rather than in a global .d.ts.
const requireFromHere = createRequire(import.meta.url);
const S3rver = requireFromHere('s3rver') as S3rverConstructor;
fixS3rverPutObject();

/** The part of s3rver's filesystem store that the fix below replaces. */
interface S3rverObjectInput {
  bucket: string;
  key: string;
  content: Buffer | NodeJS.ReadableStream;
  metadata: Record<string, string>;
}
interface S3rverFilesystemStore {
  getResourcePath(bucket: string, key: string, kind: 'object'): string;
  putMetadata(bucket: string, key: string, metadata: Record<string, string>, md5: string): Promise<void>;
  putObject(object: S3rverObjectInput): Promise<{ size: number; md5: string }>;
}

/**
 * s3rver 3.7's putObject answers before its file is written (it resolves on the hashing
 * transform's end, or at once for a buffer) and writes in place, so a GET right after a PUT can
 * read a short file and two PUTs to one key can tear it. Real S3 is read-after-write consistent
 * and every PUT is atomic; this makes s3rver so: write a temporary file, wait until it is
 * flushed, then rename it over the object.
 */
function fixS3rverPutObject(): void {
  const store = (requireFromHere('s3rver/lib/stores/filesystem') as { prototype: S3rverFilesystemStore }).prototype;
  store.putObject = async function putObject(this: S3rverFilesystemStore, object: S3rverObjectInput) {
    const objectPath = this.getResourcePath(object.bucket, object.key, 'object');
    await mkdir(path.dirname(objectPath), { recursive: true });
    const temporaryPath = `${objectPath}.${randomBytes(6).toString('hex')}.partial`;
    const md5 = createHash('md5');
    let size = 0;
    const content = Buffer.isBuffer(object.content) ? Readable.from([object.content]) : object.content;
    const counted = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        md5.update(chunk);
        size += chunk.length;
        callback(null, chunk);
      },
    });
    try {
      await pipeline(content, counted, createWriteStream(temporaryPath));
      await rename(temporaryPath, objectPath);
    } catch (error) {
      await rm(temporaryPath, { force: true });
      throw error;
    }
    const digest = md5.digest('hex');
    await this.putMetadata(object.bucket, object.key, object.metadata, digest);
    return { size, md5: digest };
  };
}

export type S3Source = 'env' | 's3rver';

export interface TestS3 {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  forcePathStyle: true;
  source: S3Source;
  notes: string[];
  /** Stops the server if this harness started it; a shared endpoint is left running. */
  stop(): Promise<void>;
}

export interface FindTestS3Options {
  prefer?: 'auto' | S3Source;
  env?: NodeJS.ProcessEnv;
}

/** s3rver accepts any signature made with these (its documented defaults). */
const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

/**
 * DESIGN.md §10: S3_ENDPOINT (with S3_ACCESS_KEY_ID/S3_SECRET_ACCESS_KEY, MinIO's defaults when
 * unset); else a testcontainers MinIO if Docker answers (reported and skipped: not a
 * dependency); else an in-process s3rver on a free port over a temporary directory.
 */
export async function findTestS3(options: FindTestS3Options = {}): Promise<TestS3> {
  const env = options.env ?? process.env;
  const prefer = options.prefer ?? 'auto';
  const notes: string[] = [];
  const region = env.S3_REGION || 'us-east-1';

  if (prefer === 'auto' || prefer === 'env') {
    if (env.S3_ENDPOINT) {
      return {
        endpoint: env.S3_ENDPOINT,
        region,
        accessKeyId: env.S3_ACCESS_KEY_ID || 'minioadmin',
        secretAccessKey: env.S3_SECRET_ACCESS_KEY || 'minioadmin',
        forcePathStyle: true,
        source: 'env',
        notes,
        stop: async () => undefined,
      };
    }
    if (prefer === 'env') throw new Error('S3_ENDPOINT is not set');
    notes.push('S3_ENDPOINT not set');
    const docker = await detectDockerEngine(env);
    notes.push(
      docker.available
        ? `Docker answers at ${docker.socketPath}, but the testcontainers MinIO branch is unavailable: the package is not a dependency`
        : `testcontainers MinIO branch skipped: ${docker.reason}`,
    );
  }

  const directory = await mkdtemp(path.join(tmpdir(), 'mv-s3rver-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, vhostBuckets: false });
  const { port } = await server.run();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    region,
    ...S3RVER_CREDENTIALS,
    forcePathStyle: true,
    source: 's3rver',
    notes,
    async stop() {
      // The SDK keeps sockets alive; drop them so close() does not wait for their idle timeout.
      server.httpServer?.closeAllConnections();
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
