import type { FastifyInstance } from 'fastify';
import { errorEnvelope } from '@magicvideo/shared';

// A `.` or `..` segment, raw or percent-encoded (%2e), anywhere in the path.
const DOT_SEGMENT = /(^|\/)(\.|%2e){1,2}(\/|$)/i;

/**
 * Paths with dot segments are refused with 400 before any route runs: a path like
 * `/v1/videos/../..` is never an id, and resolving it would answer for another route (the
 * playground at `/`) instead of saying what is wrong with the request.
 */
export function refuseDotSegments(fastify: FastifyInstance): void {
  fastify.addHook('onRequest', async (request, reply) => {
    const path = (request.raw.url ?? '').split('?')[0] ?? '';
    if (!DOT_SEGMENT.test(path)) return;
    await reply.code(400).send(errorEnvelope('InvalidPath', 'the path has a "." or ".." segment; ids and routes never do'));
  });
}
