import { Controller, Get, Res } from '@nestjs/common';
import { renderMetrics } from '@magicvideo/shared';
import type { FastifyReply } from 'fastify';

/**
 * Prometheus' scrape target. No API key: operators scrape it on the internal network and keep it
 * off the public ingress (docs/observability.md). Queue depth is read from Redis here, at scrape time.
 */
@Controller()
export class MetricsController {
  @Get('metrics')
  async metrics(@Res() reply: FastifyReply): Promise<void> {
    const { contentType, body } = await renderMetrics();
    await reply.status(200).header('content-type', contentType).send(body);
  }
}
