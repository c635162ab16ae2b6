import { request as httpRequest } from 'node:http';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import {
  ArtifactStore,
  createS3Client,
  STAGE_NAMES,
  type StageName,
  VideoStore,
} from '@magicvideo/shared';
import { findFreePort, startAppProcess, startTestServices, type AppProcess, type TestServices, waitForHttpStatus } from '@magicvideo/shared/testing';

/**
 * The API as its own OS process (started from source) against real Redis and S3, plus the
 * clients a test needs to look behind it: the job store (to drive a video as a worker would),
 * the artifact store and the stage queues, all on the test's own prefix and bucket.
 */

export const MODELS_DIR = 'assets/models/magicvideo-shapes';

/** One API key per test owner, so each test has its own videos and its own rate-limit bucket. */
export const OWNERS = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy'] as const;
export type Owner = (typeof OWNERS)[number];
export const keyOf = (owner: Owner): string => `${owner}-secret-key`;

export interface ApiHarness {
  baseUrl: string;
  app: AppProcess;
  services: TestServices;
  redis: Redis;
  store: VideoStore;
  artifacts: ArtifactStore;
  queues: Record<StageName, Queue>;
  /** fetch with the owner's API key */
  call(owner: Owner, path: string, init?: RequestInit): Promise<Response>;
  /** POST /v1/videos with a JSON body */
  submit(owner: Owner, body: unknown, headers?: Record<string, string>): Promise<Response>;
  stop(): Promise<void>;
}

export async function startApi(env: Record<string, string> = {}): Promise<ApiHarness> {
  const services = await startTestServices();
  const port = await findFreePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const app = startAppProcess('apps/api', {
    ...services.env,
    PORT: String(port),
    NODE_ENV: 'test',
    MODELS_DIR,
    API_KEYS: OWNERS.map((owner) => `${owner}:${keyOf(owner)}`).join(','),
    SHUTDOWN_GRACE_MS: '5000',
    ...env,
  });
  const redis = new Redis(services.redis.url, { maxRetriesPerRequest: 1 });
  const s3 = createS3Client({
    endpoint: services.s3.endpoint,
    region: services.s3.region,
    credentials: { accessKeyId: services.s3.accessKeyId, secretAccessKey: services.s3.secretAccessKey },
    forcePathStyle: true,
  });
  const artifacts = new ArtifactStore(s3, services.s3.bucket);
  const store = new VideoStore({ redis, prefix: services.queuePrefix, artifacts });
  const queues = Object.fromEntries(
    STAGE_NAMES.map((stage) => [stage, new Queue(stage, { connection: redis, prefix: services.queuePrefix })]),
  ) as Record<StageName, Queue>;

  const stop = async (): Promise<void> => {
    app.kill('SIGTERM');
    await app.exited;
    await Promise.all(Object.values(queues).map((queue) => queue.close()));
    await redis.quit();
    s3.destroy();
    await services.stop();
  };
  try {
    await waitForHttpStatus(`${baseUrl}/readyz`, 200, 60_000);
  } catch (error) {
    await stop();
    throw new Error(`the API did not start: ${(error as Error).message}\n${app.stderr()}\n${app.stdout()}`);
  }

  const call = (owner: Owner, path: string, init: RequestInit = {}) =>
    fetch(`${baseUrl}${path}`, { ...init, headers: { Authorization: `Bearer ${keyOf(owner)}`, ...init.headers } });
  return {
    baseUrl,
    app,
    services,
    redis,
    store,
    artifacts,
    queues,
    call,
    submit: (owner, body, headers = {}) =>
      call(owner, '/v1/videos', { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) }),
    stop,
  };
}

/** The error envelope of a 4xx/5xx answer. */
export interface ErrorBody {
  error: { code: string; message: string; field?: string; fields?: { field: string; message: string }[] };
}

/**
 * POSTs a body the client never finishes sending: `declaredBytes` in Content-Length (or chunked
 * when undefined), but only `sentBytes` written. Resolves with the answer the server gives
 * anyway, which proves it refused the body without waiting for (or buffering) all of it.
 */
export function postUnfinishedBody(
  url: string,
  headers: Record<string, string>,
  options: { declaredBytes?: number; sentBytes: number },
): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, {
      method: 'POST',
      headers: { ...headers, ...(options.declaredBytes === undefined ? {} : { 'Content-Length': String(options.declaredBytes) }) },
    });
    let answered = false;
    request.on('response', (response) => {
      answered = true;
      let text = '';
      response.on('data', (chunk: Buffer) => (text += chunk.toString()));
      response.on('end', () => {
        request.destroy();
        resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) as unknown });
      });
    });
    // The server closes the connection once it has answered: a write after that fails with EPIPE.
    request.on('error', (error) => {
      if (!answered) reject(error);
    });
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    let sent = 0;
    const writeMore = (): void => {
      while (sent < options.sentBytes && !request.destroyed) {
        sent += chunk.length;
        if (!request.write(chunk)) {
          request.once('drain', writeMore);
          return;
        }
      }
    };
    writeMore();
  });
}
