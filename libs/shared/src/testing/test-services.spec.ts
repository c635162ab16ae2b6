import { GetObjectCommand, HeadBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { isValidQueuePrefix } from '../contracts/redis-prefix';
import { createS3Client } from '../storage/s3-client';
import { detectDockerEngine } from './docker-engine';
import { redisAnswersPing, startRedisServer } from './redis-server-process';
import { findTestRedis } from './test-redis';
import { findTestS3 } from './test-s3';
import { startTestServices, type TestServices } from './test-services';

const localhostAnswers = await redisAnswersPing('redis://127.0.0.1:6379');

async function withRedis<T>(url: string, use: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    return await use(redis);
  } finally {
    await redis.quit();
  }
}

function s3ClientFor(services: TestServices): S3Client {
  return createS3Client({
    endpoint: services.s3.endpoint,
    region: services.s3.region,
    credentials: { accessKeyId: services.s3.accessKeyId, secretAccessKey: services.s3.secretAccessKey },
    forcePathStyle: true,
  });
}

describe('findTestRedis', () => {
  it('uses REDIS_URL when set, and leaves that server running on stop', async () => {
    const server = await startRedisServer();
    try {
      const redis = await findTestRedis({ env: { REDIS_URL: server.url } });
      expect(redis).toMatchObject({ url: server.url, source: 'env' });
      await redis.stop();
      expect(await redisAnswersPing(server.url)).toBe(true);
    } finally {
      await server.stop();
    }
  });

  it.skipIf(!localhostAnswers)('uses localhost:6379 when it answers PING (skipped: no Redis on localhost:6379)', async () => {
    const redis = await findTestRedis({ env: {} });
    expect(redis).toMatchObject({ url: 'redis://127.0.0.1:6379', source: 'localhost', notes: ['REDIS_URL not set'] });
  });

  it('starts redis-server from PATH on a free port when asked, and stops it', async () => {
    const redis = await findTestRedis({ prefer: 'spawned', env: {} });
    expect(redis.source).toBe('spawned');
    expect(redis.url).not.toBe('redis://127.0.0.1:6379');
    expect(await withRedis(redis.url, (client) => client.ping())).toBe('PONG');
    await redis.stop();
    expect(await redisAnswersPing(redis.url)).toBe(false);
  });

  it('restarts a spawned redis-server on the same port', async () => {
    const first = await startRedisServer();
    await first.stop();
    const second = await startRedisServer({ port: first.port });
    try {
      expect(second.url).toBe(first.url);
      expect(await redisAnswersPing(second.url)).toBe(true);
    } finally {
      await second.stop();
    }
  });
});

describe('detectDockerEngine', () => {
  it('reports a missing socket as unavailable with the reason', async () => {
    expect(await detectDockerEngine({ DOCKER_HOST: 'unix:///nonexistent/docker.sock' })).toEqual({
      available: false,
      reason: 'no Docker socket at /nonexistent/docker.sock (ENOENT)',
    });
  });
});

describe('findTestS3', () => {
  it('runs an in-process s3rver that stores and returns objects', async () => {
    const services = await startTestServices({ s3: 's3rver' });
    const s3 = s3ClientFor(services);
    try {
      expect(services.s3.source).toBe('s3rver');
      await s3.send(new PutObjectCommand({ Bucket: services.s3.bucket, Key: 'videos/abc/job.json', Body: '{"status":"queued"}' }));
      const object = await s3.send(new GetObjectCommand({ Bucket: services.s3.bucket, Key: 'videos/abc/job.json' }));
      expect(await object.Body?.transformToString()).toBe('{"status":"queued"}');
    } finally {
      s3.destroy();
      await services.stop();
    }
  });

  it('uses S3_ENDPOINT with its credentials when set', async () => {
    const server = await findTestS3({ prefer: 's3rver', env: {} });
    try {
      const s3 = await findTestS3({
        env: { S3_ENDPOINT: server.endpoint, S3_ACCESS_KEY_ID: 'S3RVER', S3_SECRET_ACCESS_KEY: 'S3RVER' },
      });
      expect(s3).toMatchObject({ endpoint: server.endpoint, source: 'env', accessKeyId: 'S3RVER' });
    } finally {
      await server.stop();
    }
  });
});

describe('startTestServices', () => {
  it('gives each test its own hash-tagged queue prefix and bucket, and removes both on stop', async () => {
    const shared = await startRedisServer();
    const s3Server = await findTestS3({ prefer: 's3rver', env: {} });
    const env = { REDIS_URL: shared.url, S3_ENDPOINT: s3Server.endpoint, S3_ACCESS_KEY_ID: 'S3RVER', S3_SECRET_ACCESS_KEY: 'S3RVER' };
    try {
      const [first, second] = await Promise.all([startTestServices({ env }), startTestServices({ env })]);
      expect(first!.queuePrefix).toMatch(/^\{mv-test-[0-9a-f]{10}\}$/);
      expect(isValidQueuePrefix(first!.queuePrefix)).toBe(true);
      expect(first!.queuePrefix).not.toBe(second!.queuePrefix);
      expect(first!.s3.bucket).not.toBe(second!.s3.bucket);
      expect(first!.env).toMatchObject({ REDIS_URL: shared.url, QUEUE_PREFIX: first!.queuePrefix, S3_BUCKET: first!.s3.bucket });

      await withRedis(shared.url, async (redis) => {
        await redis.set(`${first!.queuePrefix}:keyframe:id`, '1');
        await redis.set(`${second!.queuePrefix}:keyframe:id`, '2');
      });
      const s3 = s3ClientFor(first!);
      await s3.send(new PutObjectCommand({ Bucket: first!.s3.bucket, Key: 'videos/a/request.json', Body: '{}' }));

      await first!.stop();
      await withRedis(shared.url, async (redis) => {
        expect(await redis.exists(`${first!.queuePrefix}:keyframe:id`)).toBe(0);
        expect(await redis.get(`${second!.queuePrefix}:keyframe:id`)).toBe('2');
      });
      await expect(s3.send(new HeadBucketCommand({ Bucket: first!.s3.bucket }))).rejects.toMatchObject({
        $metadata: { httpStatusCode: 404 },
      });
      await s3.send(new HeadBucketCommand({ Bucket: second!.s3.bucket }));
      s3.destroy();
      await second!.stop();
      expect(await redisAnswersPing(shared.url)).toBe(true);
    } finally {
      await shared.stop();
      await s3Server.stop();
    }
  });

  it('in auto mode explains why it passed over the testcontainers branch', async () => {
    const services = await startTestServices({ env: { DOCKER_HOST: 'unix:///nonexistent/docker.sock' } });
    try {
      expect(services.notes).toContain('testcontainers MinIO branch skipped: no Docker socket at /nonexistent/docker.sock (ENOENT)');
      expect(services.s3.source).toBe('s3rver');
    } finally {
      await services.stop();
    }
  });
});
