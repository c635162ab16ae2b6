import { access } from 'node:fs/promises';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { Logger } from '@magicvideo/shared';
import type { FastifyInstance } from 'fastify';

/** Where `nx build playground` writes the page, relative to the API's working directory (the repo root). */
export const PLAYGROUND_BUILD_DIR = 'dist/apps/playground';

/**
 * Scripts, styles and API calls from this origin only; images and media from any http(s) origin,
 * because the preview GIF and the videos are presigned URLs of the S3 endpoint, another origin.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "img-src 'self' data: blob: http: https:",
  "media-src 'self' blob: http: https:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'self'",
].join('; ');

/** Vite names built assets by content hash: cache them for good; index.html must be re-read to find new ones. */
function cacheControlOf(filePath: string): string {
  return filePath.includes(`${path.sep}assets${path.sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache';
}

/**
 * Serves the web playground (apps/playground's build) at `/`: its index.html and hashed assets,
 * with no API key, since the page only asks for the key and then calls /v1 like any client (the
 * /v1 routes keep their ApiKeyGuard). Only the files present at start get routes (`wildcard:
 * false`), so every other path still answers the API's own 404. Returns false, with a warning,
 * when the page was not built: the API runs without it.
 */
export async function servePlayground(fastify: FastifyInstance, options: { directory: string; logger: Logger }): Promise<boolean> {
  const root = path.resolve(options.directory);
  try {
    await access(path.join(root, 'index.html'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    options.logger.warn({ directory: root }, 'playground not built (npx nx build playground): nothing served at /');
    return false;
  }
  await fastify.register(async (scope) => {
    // In this encapsulated scope the hook adds the headers to the playground's files only.
    scope.addHook('onSend', async (_request, reply, payload) => {
      void reply.header('Content-Security-Policy', CONTENT_SECURITY_POLICY).header('X-Content-Type-Options', 'nosniff').header('Referrer-Policy', 'no-referrer');
      return payload;
    });
    await scope.register(fastifyStatic, {
      root,
      wildcard: false,
      // no reply.sendFile is needed here (and Swagger UI's own @fastify/static adds one)
      decorateReply: false,
      cacheControl: false,
      setHeaders: (reply, filePath) => void reply.header('Cache-Control', cacheControlOf(filePath)),
    });
  });
  options.logger.info({ directory: root }, 'playground served at /');
  return true;
}
