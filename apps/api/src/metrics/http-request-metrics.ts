import { recordHttpRequest } from '@magicvideo/shared';
import type { FastifyInstance } from 'fastify';

/**
 * Every answered request into magicvideo_http_request_duration_seconds, labelled by the route
 * template (`/v1/videos/:id`, never the id), so the label stays bounded. Fastify's reply.elapsedTime
 * runs from the request's arrival to the answer.
 */
export function registerHttpRequestMetrics(fastify: FastifyInstance): void {
  fastify.addHook('onResponse', async (request, reply) => {
    recordHttpRequest({
      route: request.routeOptions.url,
      method: request.method,
      statusCode: reply.statusCode,
      seconds: reply.elapsedTime / 1000,
    });
  });
}
