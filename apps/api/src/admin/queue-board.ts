import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { isAdminKey, presentedAdminKey } from './admin-key';

export const QUEUE_BOARD_PATH = '/admin/queues';

/**
 * bull-board's queue UI at /admin/queues for the given queues, mounted on Fastify directly (its
 * Nest module injects by decorator metadata, which tsx does not emit). Every request under the
 * path, the UI's assets and JSON API included, needs the admin key: 401 with a Basic challenge
 * otherwise, so a browser asks for it.
 */
export async function mountQueueBoard(fastify: FastifyInstance, options: { queues: readonly Queue[]; adminKey: string }): Promise<void> {
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(QUEUE_BOARD_PATH);
  createBullBoard({ queues: options.queues.map((queue) => new BullMQAdapter(queue)), serverAdapter });
  await fastify.register(
    async (scope) => {
      // In this encapsulated scope the hook guards the board's routes only.
      scope.addHook('onRequest', async (request, reply) => {
        if (isAdminKey(presentedAdminKey(request.headers.authorization), options.adminKey)) return;
        await reply
          .code(401)
          .header('www-authenticate', 'Basic realm="magicvideo queues", charset="UTF-8"')
          .send({ error: { code: 'Unauthorized', message: 'the queue UI needs the admin key (ADMIN_API_KEY)' } });
      });
      await scope.register(serverAdapter.registerPlugin());
    },
    { prefix: QUEUE_BOARD_PATH },
  );
}
