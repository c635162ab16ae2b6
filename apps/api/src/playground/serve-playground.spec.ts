import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import fastifyStatic from '@fastify/static';
import { createLogger } from '@magicvideo/shared';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { servePlayground } from './serve-playground';

/** A logger whose lines the test reads. */
function recordingLogger() {
  const lines: { level: string; msg: string }[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as { level: string; msg: string });
      done();
    },
  });
  return { logger: createLogger({ service: 'api', level: 'info', nodeEnv: 'test', destination }), lines };
}

describe('servePlayground', () => {
  let directory: string;
  let fastify: FastifyInstance;

  beforeEach(async () => {
    directory = await mkdtemp(path.join(tmpdir(), 'playground-'));
    fastify = Fastify();
    // the API's own route, registered beside the page's files
    fastify.get('/v1/videos', async (_request, reply) => reply.code(401).send({ error: { code: 'Unauthenticated', message: 'key' } }));
  });

  afterEach(async () => {
    await fastify.close();
    await rm(directory, { recursive: true, force: true });
  });

  it('serves the built page at / and its hashed assets, each with the page headers and its cache policy', async () => {
    await writeFile(path.join(directory, 'index.html'), '<!doctype html><title>playground</title>');
    await mkdir(path.join(directory, 'assets'));
    await writeFile(path.join(directory, 'assets/index-abc123.js'), 'console.log(1)');
    const { logger } = recordingLogger();
    expect(await servePlayground(fastify, { directory, logger })).toBe(true);

    for (const url of ['/', '/index.html']) {
      const page = await fastify.inject({ method: 'GET', url });
      expect(page.statusCode, url).toBe(200);
      expect(page.headers['content-type']).toMatch(/^text\/html/);
      expect(page.body).toContain('<title>playground</title>');
      expect(page.headers['cache-control']).toBe('no-cache');
      expect(page.headers['content-security-policy']).toContain("default-src 'self'");
      expect(page.headers['x-content-type-options']).toBe('nosniff');
    }
    const asset = await fastify.inject({ method: 'GET', url: '/assets/index-abc123.js' });
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['cache-control']).toBe('public, max-age=31536000, immutable');
  });

  it('adds routes for the built files only: other paths and the API keep their own answers and headers', async () => {
    await writeFile(path.join(directory, 'index.html'), '<!doctype html>');
    await servePlayground(fastify, { directory, logger: recordingLogger().logger });
    expect((await fastify.inject({ method: 'GET', url: '/assets/missing.js' })).statusCode).toBe(404);
    expect((await fastify.inject({ method: 'GET', url: '/../package.json' })).statusCode).toBe(404);
    const api = await fastify.inject({ method: 'GET', url: '/v1/videos' });
    expect(api.statusCode).toBe(401);
    expect(api.headers['content-security-policy']).toBeUndefined();
  });

  it('registers beside another @fastify/static that already decorated the reply (Swagger UI does)', async () => {
    await writeFile(path.join(directory, 'index.html'), '<!doctype html>');
    const other = await mkdtemp(path.join(tmpdir(), 'docs-'));
    await fastify.register(fastifyStatic, { root: other, prefix: '/docs/static/' });
    expect(await servePlayground(fastify, { directory, logger: recordingLogger().logger })).toBe(true);
    expect((await fastify.inject({ method: 'GET', url: '/' })).statusCode).toBe(200);
    await rm(other, { recursive: true, force: true });
  });

  it('serves nothing and warns when the page was not built', async () => {
    const { logger, lines } = recordingLogger();
    expect(await servePlayground(fastify, { directory: path.join(directory, 'not-built'), logger })).toBe(false);
    expect((await fastify.inject({ method: 'GET', url: '/' })).statusCode).toBe(404);
    expect(lines).toEqual([expect.objectContaining({ level: 'warn', msg: expect.stringContaining('playground not built') })]);
  });
});
